"""The monthly report (售后月报表) from the command line: the workbook and the PDF of June hold the
numbers the dashboard shows for June, and those agree with counts taken straight from the ledgers."""

from __future__ import annotations

import json

import openpyxl
import pytest
from sqlalchemy import bindparam, text

from rma.cli import main
from rma.core.types import UTCDateTime
from rma.reports import figures as F
from tests.figures_data import make_june


@pytest.fixture
def june(db, rma_env):
    return db, make_june(db)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def values(book, sheet: str) -> dict[str, object]:
    return {row[0]: row[2] for row in book[sheet].iter_rows(min_row=2, values_only=True)}


def test_the_report_says_what_the_dashboard_and_the_ledgers_say(june, tmp_path, capsys):
    db, _tags = june
    xlsx, pdf = tmp_path / "june.xlsx", tmp_path / "june.pdf"
    code, out, err = run(capsys, "report", "month", "2025-06", "--xlsx", str(xlsx), "--pdf", str(pdf))
    assert code == 0, err
    assert "received 7" in out and f"wrote {xlsx}" in out
    assert pdf.read_bytes().startswith(b"%PDF") and len(pdf.read_bytes()) > 10_000
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames == ["Units", "WIP", "Turnaround", "Quality", "Test", "Faults", "Interceptions", "Parts",
                               "Programming", "Couriers", "Technicians"]
    units, quality, test = values(book, "Units"), values(book, "Quality"), values(book, "Test")

    with db.uow(readonly=True) as uow:  # what the dashboard shows for June
        fig = F.all_figures(uow, F.filters(uow, month="2025-06"))
        window = {"a": F.month_start(202506), "b": F.month_start(202507)}
        times = (bindparam("a", type_=UTCDateTime()), bindparam("b", type_=UTCDateTime()))
        ledger = lambda sql: uow.session.execute(text(sql).bindparams(*times), window).scalar()  # noqa: E731
        received = ledger("SELECT count(*) FROM returns_ledger WHERE event = 'opened' AND at >= :a AND at < :b")
        shipped = ledger("SELECT count(*) FROM returns_ledger WHERE to_state = 'shipped' AND at >= :a AND at < :b")
        first = ledger("SELECT count(*) FROM test_runs r JOIN test_run_ends e ON e.run_id = r.id WHERE r.kind = "
                       "'outgoing' AND r.attempt = 1 AND e.outcome IN ('pass', 'fail') AND r.started_at >= :a "
                       "AND r.started_at < :b")
        passed = ledger("SELECT count(*) FROM test_runs r JOIN test_run_ends e ON e.run_id = r.id WHERE r.kind = "
                        "'outgoing' AND r.attempt = 1 AND e.outcome = 'pass' AND r.started_at >= :a "
                        "AND r.started_at < :b")
        repeats = ledger("SELECT count(*) FROM intake_records i JOIN visits v ON v.id = i.visit_id "
                         "WHERE i.repeat_of_id IS NOT NULL AND v.opened_at >= :a AND v.opened_at < :b")
    assert units["Units received"] == fig["units"]["received"] == received == 7
    assert units["Shipped back"] == fig["units"]["shipped"] == shipped == 2
    assert test["First tests"] == fig["testing"]["first_tests"] == first == 3
    assert test["First-pass yield"] == fig["testing"]["first_pass_yield"] == round(passed / first, 4)
    assert quality["Repeat returns"] == fig["quality"]["repeat"] == repeats == 1
    assert units["Turnaround median (days)"] == fig["turnaround"]["all"]["median_days"]

    code, out, _err = run(capsys, "report", "figures", "--month", "2025-06", "--json")
    assert code == 0 and json.loads(out)["units"] == fig["units"]


def test_bad_months_and_empty_filters(june, capsys):
    code, _out, err = run(capsys, "report", "month", "2999-12")
    assert code == 1 and "rma: month 2999-12 is in the future" in err
    code, out, _err = run(capsys, "report", "figures", "--month", "June 2025", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "bad_month"
    code, out, _err = run(capsys, "report", "figures", "--month", "2025-06", "--model", "NO-SUCH", "--json")
    assert code == 0 and json.loads(out)["units"]["received"] == 0
    code, out, _err = run(capsys, "report", "list", "defect", "D09", "--month", "2025-06", "--json")
    assert code == 0 and json.loads(out)["total"] == 2
