"""`rma units import`: the factory's shipment records; rejected rows with line numbers, nothing half-done."""

import json

import pytest
from sqlalchemy import select

from rma.cli import main
from rma.core.models import Unit
from rma.errors import DomainError
from rma.intake.imports import import_units
from tests.factories import seed_basics

GOOD = """serial,model,manufactured_on,shipped_on,customer,firmware
HU88000001,HU-8800,2025-01-10,2025-02-01,SH-PD01,3.2.1
HU88000002,hu-8800,2025/01/11,,,
"""


def test_import_creates_then_updates(db):
    seed_basics(db)
    report = import_units(db, "admin", GOOD.encode())
    assert (report.rows, report.created, report.updated, report.rejected) == (2, 2, 0, [])
    again = import_units(db, "admin", b"serial,model,shipped_on\nHU88000002,HU-8800,2025-03-03\n")
    assert (again.created, again.updated) == (0, 1)
    with db.uow(readonly=True) as uow:
        units = {u.serial: u for u in uow.session.scalars(select(Unit))}
    assert units["HU88000001"].sold_on.isoformat() == "2025-02-01"
    assert units["HU88000001"].firmware_version == "3.2.1"
    assert units["HU88000001"].shipped_to_id is not None
    assert units["HU88000002"].sold_on.isoformat() == "2025-03-03"
    assert units["HU88000002"].manufactured_on.isoformat() == "2025-01-11"  # an empty cell keeps what we knew


def test_bad_rows_are_rejected_with_line_and_reason_and_the_rest_imported(db):
    seed_basics(db)
    data = "\n".join([
        "serial,model,manufactured_on,shipped_on,customer",
        "HU88000001,HU-8800,2025-01-10,2025-02-01,SH-PD01",   # line 2 ok
        "HU88000002,NOPE,2025-01-10,,",                      # 3 unknown model
        "XX00000003,HU-8800,2025-01-10,,",                   # 4 pattern
        "HU88000004,HU-8800,10/01/2025,,",                   # 5 date
        "HU88000005,HU-8800,2025-01-10,,GHOST",              # 6 customer
        "HU88000001,HU-8800,2025-01-10,,",                   # 7 duplicate of line 2
        "HU88000006,HU-8800,2025-05-10,2025-01-01,",         # 8 shipped before made
        "HU88000007,HU-8800",                                # 9 short row
        "HU88000008,HU-8800,,,",                             # 10 ok
    ]).encode()
    report = import_units(db, "admin", data)
    assert report.created == 2
    lines = {line: reason for line, reason in report.rejected}
    assert sorted(lines) == [3, 4, 5, 6, 7, 8, 9]
    assert "NOPE" in lines[3] and "pattern" in lines[4] and "date" in lines[5] and "GHOST" in lines[6]
    assert "line 2" in lines[7] and "before" in lines[8] and "fields" in lines[9]


def test_gb18030_file_and_missing_columns(db):
    seed_basics(db)
    assert import_units(db, "admin", "serial,model,customer\nHU88000001,HU-8800,SH-PD01\n".encode("gb18030")).created == 1
    with pytest.raises(DomainError) as e:
        import_units(db, "admin", b"sn,type\nx,y\n")
    assert e.value.code == "bad_csv" and "serial" in e.value.message


def test_only_admin_or_supervisor_imports(db):
    seed_basics(db)
    with pytest.raises(DomainError) as e:
        import_units(db, "clerk", GOOD.encode())
    assert e.value.code == "forbidden"


def test_cli_import_json(db, rma_env, tmp_path, capsys):
    seed_basics(db)
    path = tmp_path / "shipments.csv"
    path.write_text(GOOD + "BAD,HU-8800,,,,\n", encoding="utf-8")
    assert main(["--as", "boss", "units", "import", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["created"] == 2 and out["rejected"] == [{"line": 4, "reason": "'BAD' is not a serial number"}]
    assert main(["--as", "boss", "units", "import", str(path), "--strict"]) == 1
