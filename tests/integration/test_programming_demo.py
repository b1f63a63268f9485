"""The demo's programming: a registry in every state, and reflashes that are real attempts of the programming
services against the programmer simulator, among them a failed verify and an interception cleared by a reflash;
and an IC batch job run by the materials clerk."""

from __future__ import annotations

from sqlalchemy import select

from rma.core.checks import check_ledgers
from rma.core.models import ReturnsLedgerEntry
from rma.demo import MODELS, load_demo
from rma.programming import jobs, registry, services


def test_the_demo_reflashes_through_the_programming_services(db, rma_env):
    load_demo(db)
    with db.uow(readonly=True) as uow:
        images = registry.list_images(uow)
        attempts = [a for a in services.list_attempts(uow, services.AttemptFilter()) if a["tag"]]  # units'
        [job] = jobs.list_jobs(uow)
        job = jobs.show_job(uow, job["job"])
        done = list(uow.session.scalars(select(ReturnsLedgerEntry).where(
            ReturnsLedgerEntry.event.in_(["programming_done", "programming_failed"]))))
        by_system = [e for e in uow.session.scalars(select(ReturnsLedgerEntry).where(
            ReturnsLedgerEntry.event == "alert_done")) if e.details.get("by_system")]
        waiting = services.programming_queue(uow)
        files = {registry.show_image(uow, str(r["id"]))["file"] for r in images}
        mine = [v for v in check_ledgers(uow, warnings=True) if v.ledger != "test_plans"]
    # the materials clerk's IC job: 12 good of 16 issued, socket 3 off (self-test), socket 2 off after 3 failures
    assert (job["state"], job["good"], job["failed"], job["returned"], job["left"]) == ("complete", 12, 3, 1, 0)
    assert [(e["socket"], e["by"]) for e in job["events"]] == [(3, "system"), (2, "system")]
    assert [s["yield"] for s in job["sockets"]] == ["100.0", "0.0", None, "100.0"]
    assert {r["state"] for r in images} == {"draft", "released", "retired"}
    assert {m for r in images for m in r["current_for"]} == {m.code for m in MODELS} and files == {"ok"}
    assert len(attempts) >= 4 and {a["result"] for a in attempts} == {"ok", "failed"}
    assert all(a["verified"] == (a["result"] == "ok") for a in attempts)
    failed = next(a for a in attempts if a["result"] == "failed")
    assert failed["code"] == "programmer_verify_failed" and failed["first_bad_address"] == "0x00001F3A"
    assert len(done) == len(attempts) and all(e.details["attempt"] in {a["attempt_id"] for a in attempts}
                                              for e in done)
    assert by_system and all(e.actor.username == "technician" for e in by_system)
    assert len(waiting) == 2 and all(w["image_version"] for w in waiting)
    assert mine == []  # (test_plans rows are never sealed: a test station bug outside programming)
