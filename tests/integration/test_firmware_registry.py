"""The firmware registry: an image uploaded once, kept by its SHA-256; draft → released → retired by the
lead or supervisor; a released image never changes; a model's current firmware is a released image and
the catalogue's version follows it; a file that changed on disk is refused."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from rma.cli import main
from rma.core import services as core
from rma.core.catalogue import get_model
from rma.core.checks import check_ledgers
from rma.errors import DomainError
from rma.programming import registry
from rma.programming.models import FirmwareImage
from tests.factories import seed_basics
from tests.programming_rig import NEW, NEW_IMAGE, OLD, OLD_IMAGE, add, release


@pytest.fixture
def seeded(db, rma_env):
    seed_basics(db)
    return db


def catalogue_version(db) -> str:  # noqa: ANN001
    with db.uow(readonly=True) as uow:
        return get_model(uow, "HU-8800").firmware_version


def image(db, key) -> dict:  # noqa: ANN001
    with db.uow(readonly=True) as uow:
        return registry.show_image(uow, str(key))


def refused(db, fn, who: str = "lead") -> DomainError:  # noqa: ANN001
    with pytest.raises(DomainError) as e, db.uow() as uow:
        fn(uow, core.get_actor(uow, who))
    return e.value


def test_an_image_is_kept_by_its_sha256_as_a_draft_until_the_lead_releases_it(seeded):
    db = seeded
    image_id = add(db, OLD_IMAGE, OLD, notes="量产版本")
    row = image(db, image_id)
    sha = hashlib.sha256(OLD_IMAGE).hexdigest()
    assert (row["sha256"], row["size"], row["state"], row["models"], row["memory"], row["chip_id"]) == (
        sha, len(OLD_IMAGE), "draft", ["HU-8800"], "W25Q16", "EF4015")
    assert row["file"] == "ok" and registry.file_path(sha).read_bytes() == OLD_IMAGE
    assert image(db, sha[:8])["id"] == image_id  # found by the start of its hash as well
    assert catalogue_version(db) == "3.2.1"  # a draft changes nothing
    e = refused(db, lambda uow, a: registry.release_image(uow, a, str(image_id)), who="tech")
    assert e.code == "forbidden" and "lead or supervisor" in e.message
    row = release(db, image_id, note="来自生产线")
    assert row["state"] == "released" and row["current_for"] == ["HU-8800"] and row["released_by"] == "lead"
    assert catalogue_version(db) == OLD  # the test plans compare the unit's answer with this


def test_a_newer_release_becomes_current_and_the_old_one_may_be_retired_never_the_current(seeded):
    db = seeded
    old, new = add(db, OLD_IMAGE, OLD), add(db, NEW_IMAGE, NEW)
    release(db, old)
    e = refused(db, lambda uow, a: registry.retire_image(uow, a, str(old), reason="replaced"))
    assert e.code == "firmware_in_use" and "HU-8800" in e.message
    release(db, new)
    assert catalogue_version(db) == NEW
    assert image(db, old)["current_for"] == [] and image(db, new)["current_for"] == ["HU-8800"]
    with db.uow() as uow:
        retired = registry.retire_image(uow, core.get_actor(uow, "boss"), str(old), reason="superseded by 3.2.1")
    assert retired["state"] == "retired" and retired["retire_reason"] == "superseded by 3.2.1"
    for fn, code in ((lambda uow, a: registry.release_image(uow, a, str(old)), "firmware_retired"),
                     (lambda uow, a: registry.retire_image(uow, a, str(old), reason="again"), "firmware_retired"),
                     (lambda uow, a: registry.release_image(uow, a, str(new)), "firmware_released")):
        assert refused(db, fn).code == code
    with db.uow(readonly=True) as uow:
        assert [r["version"] for r in registry.list_images(uow, state="released")] == [NEW]
        assert [r["state"] for r in registry.list_images(uow, model="HU-8800")] == ["released", "retired"]


def test_release_keeping_the_current_firmware(seeded):
    db = seeded
    release(db, add(db, NEW_IMAGE, NEW))
    old = add(db, OLD_IMAGE, OLD)
    row = release(db, old, make_current=False)
    assert row["state"] == "released" and row["current_for"] == [] and catalogue_version(db) == NEW


def test_a_released_image_never_changes_not_even_from_the_database(seeded):
    db = seeded
    image_id = add(db, NEW_IMAGE, NEW)
    release(db, image_id)
    with pytest.raises(DomainError) as e, db.uow() as uow:
        uow.session.get(FirmwareImage, image_id).version = "9.9.9"
    assert e.value.code == "ledger_append_only"
    for sql in ("UPDATE firmware_images SET version = '9.9.9'", "DELETE FROM firmware_events",
                "UPDATE firmware_image_models SET model_id = model_id"):
        with pytest.raises(DBAPIError) as refusal, db.engine.begin() as conn:
            conn.execute(text(sql))
        assert "append-only" in str(refusal.value)


def test_an_image_edited_behind_rmas_back_is_found_by_the_check(seeded):
    db = seeded
    image_id = add(db, NEW_IMAGE, NEW)
    release(db, image_id)
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE firmware_images DISABLE TRIGGER firmware_images_no_update"))
            conn.execute(text("UPDATE firmware_images SET size = size - 1"))
            conn.execute(text("ALTER TABLE firmware_images ENABLE ALWAYS TRIGGER firmware_images_no_update"))
        else:
            conn.execute(text("DROP TRIGGER firmware_images_no_update"))
            conn.execute(text("UPDATE firmware_images SET size = size - 1"))
            from rma.core.guards import sqlite_trigger

            conn.execute(text(sqlite_trigger("firmware_images", "update")))
    with db.uow(readonly=True) as uow:
        found = {(v.code, v.ledger) for v in check_ledgers(uow)}
    assert ("ledger_tampered", "firmware_images") in found
    assert ("firmware_file_changed", "firmware_images") in found  # the file no longer has the size it claims


def test_a_file_changed_or_gone_on_disk_is_refused_and_reported(seeded):
    db = seeded
    image_id = add(db, NEW_IMAGE, NEW)
    path = registry.file_path(hashlib.sha256(NEW_IMAGE).hexdigest())
    path.write_bytes(NEW_IMAGE[:-1] + b"\x00")  # one byte different, same size
    e = refused(db, lambda uow, a: registry.release_image(uow, a, str(image_id)))
    assert e.code == "firmware_file_changed" and "never programmed" in e.message
    assert image(db, image_id)["file"] == "changed" and image(db, image_id)["state"] == "draft"
    with db.uow(readonly=True) as uow:
        assert [v.code for v in check_ledgers(uow)] == ["firmware_file_changed"]
    path.unlink()
    assert refused(db, lambda uow, a: registry.release_image(uow, a, str(image_id))).code == "firmware_file_missing"
    assert image(db, image_id)["file"] == "missing"


def test_the_same_file_or_the_same_version_twice_is_refused(seeded):
    db = seeded
    first = add(db, NEW_IMAGE, NEW)
    e = refused(db, lambda uow, a: registry.add_image(uow, a, data=NEW_IMAGE, filename="copy.bin", version="3.2.2",
                                                       models=["HU-8800"], memory="W25Q16", chip_id="EF4015"))
    assert e.code == "firmware_exists" and str(first) in e.message
    e = refused(db, lambda uow, a: registry.add_image(uow, a, data=OLD_IMAGE, filename="b.bin", version=NEW,
                                                       models=["HU-8800"], memory="W25Q16", chip_id="EF4015"))
    assert e.code == "firmware_version_exists"
    with db.uow() as uow:  # once the first is retired, the version may be given again (a fixed build)
        registry.retire_image(uow, core.get_actor(uow, "lead"), str(first), reason="wrong build")
    assert add(db, OLD_IMAGE, NEW) > first


@pytest.mark.parametrize(("field", "value", "code"), [
    ("version", "3.2 beta", "bad_version"), ("version", "", "bad_version"), ("version", "\x1b[2J", "bad_version"),
    ("memory", "W25Q16;rm", "bad_memory"), ("chip_id", "EF40G5", "bad_chip_id"), ("chip_id", "EF401", "bad_chip_id"),
    ("part_number", "IC W25Q16", "bad_part_number"), ("models", ["NOPE"], "unknown_model"),
    ("models", [], "firmware_needs_target"), ("base", -1, "bad_base"), ("base", 2**40, "bad_base"),
    ("data", b"", "empty_file"), ("notes", "a\x00b", "bad_text"),
])
def test_bad_input_is_refused_with_its_reason(seeded, field, value, code):
    db = seeded
    values = {"data": NEW_IMAGE, "filename": "x.bin", "version": NEW, "models": ["HU-8800"], "memory": "W25Q16",
              "chip_id": "EF4015", field: value}
    assert refused(db, lambda uow, a: registry.add_image(uow, a, **values), who="tech").code == code


def test_an_image_for_an_ic_part_only(seeded):
    db = seeded
    image_id = add(db, OLD_IMAGE, "1.0.0", models=[], part_number="ic-w25q16-nav", memory="W25Q16")
    assert image(db, image_id)["part_number"] == "IC-W25Q16-NAV" and image(db, image_id)["models"] == []


def test_the_commands(seeded, tmp_path, capsys):
    file = tmp_path / "hu8800_3.2.1.bin"
    file.write_bytes(NEW_IMAGE)
    assert main(["firmware", "add", str(file), "--version", NEW, "--model", "HU-8800", "--memory", "W25Q16",
                 "--chip-id", "EF 40 15", "--base", "0x0", "--as", "tech", "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["state"] == "draft" and added["chip_id"] == "EF4015" and added["filename"] == file.name
    assert main(["firmware", "release", added["sha256"][:10], "--as", "tech"]) == 1
    assert "lead or supervisor" in capsys.readouterr().err
    assert main(["firmware", "release", str(added["id"]), "--as", "lead", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["current_for"] == ["HU-8800"]
    assert main(["firmware", "list", "--json"]) == 0
    assert [r["version"] for r in json.loads(capsys.readouterr().out)] == [NEW]
    assert main(["firmware", "show", str(added["id"])]) == 0
    shown = capsys.readouterr().out
    assert "released" in shown and "made_current" in shown and added["sha256"] in shown
    assert main(["firmware", "retire", str(added["id"]), "--reason", "x", "--as", "lead", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "firmware_in_use"
    assert main(["firmware", "add", str(tmp_path / "nothing.bin"), "--version", "1", "--model", "HU-8800",
                 "--memory", "W25Q16", "--chip-id", "EF4015", "--as", "tech"]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert main(["firmware", "show", "12345678zz"]) == 1
    assert "no firmware image" in capsys.readouterr().err
