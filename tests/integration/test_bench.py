"""The bench as a technician and the lead use it: taking work, the repair card, findings, alerts,
human damage, scrap, labour, decisions; every bad input of the bench gets a clear error and loses
nothing; the lead's view and the suggestions are computed from what the bench recorded."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from rma.bench import codes, labour, photos, services, views
from rma.bench.models import ApprovalRequest, Finding, LabourSession, RepairCard
from rma.core import services as core
from rma.core.checks import check_ledgers
from rma.core.models import AuditEntry, ReturnsLedgerEntry, Role
from rma.core.states import VisitState
from rma.errors import DomainError
from rma.intake import services as intake
from rma.intake.models import IntakeRecord, Warranty
from tests.factories import receive_unit, seed_basics

LCD_LOOSE = {"section": "LCD", "designator": "J3", "defect": "D09", "repair": "R08"}


@pytest.fixture
def depot(db, rma_env):
    seed_basics(db)
    with db.uow() as uow:
        admin = core.get_actor(uow, "admin")
        core.add_user(uow, admin, username="tech2", password="tech2-pass", roles=[Role.TECHNICIAN],
                      display_name="王芳")
    return db


def to_bench(db, serial: str = "HU88000001") -> str:
    tag = receive_unit(db, serial)
    with db.uow() as uow:
        core.move_visit(uow, core.get_actor(uow, "lead"), tag, VisitState.AWAITING_BENCH, "parcel closed")
    return tag


def act(db, who: str, fn, *args, **kw):
    with db.uow() as uow:
        return fn(uow, core.get_actor(uow, who), *args, **kw)


def refused(db, who: str, fn, *args, **kw) -> DomainError:
    with pytest.raises(DomainError) as e:
        act(db, who, fn, *args, **kw)
    return e.value


def card(db, tag: str, viewer: str | None = None) -> dict:
    with db.uow(readonly=True) as uow:
        viewer_id = core.get_actor(uow, viewer).id if viewer else None
        return views.card_view(uow, tag, viewer_id=viewer_id)


def state(db, tag: str) -> str:
    with db.uow(readonly=True) as uow:
        return core.find_visit(uow, tag).state.value


def coded(db, tag: str, who: str = "tech") -> None:
    act(db, who, services.start_repair, tag)
    act(db, who, services.code_complaint, tag, condition="2", symptom="202", note="冷车时更明显")


def png(width: int = 64, height: int = 48) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


# ---------------------------------------------------------------- taking work

def test_a_scan_takes_the_unit_and_a_second_technician_is_told_who_has_it(depot):
    tag = to_bench(depot)
    act(depot, "tech", services.start_repair, tag)
    assert state(depot, tag) == "in_repair"
    act(depot, "tech", services.start_repair, tag)  # the same scan again changes nothing
    e = refused(depot, "tech2", services.start_repair, tag)
    assert e.code == "card_taken" and tag in e.message and "(tech)" in e.message
    e = refused(depot, "tech2", services.code_complaint, tag, condition="1", symptom="101")
    assert e.code == "card_taken"
    c = card(depot, tag, "tech")
    assert c["technician"] == "tech" and c["mine"] and c["complaint"]["symptom"] is None
    with depot.uow(readonly=True) as uow:
        events = [e.event for e in core.find_visit(uow, tag).events]
    assert events.count("repair_started") == 1


def test_the_lead_assigns_and_a_technician_takes_the_next_unit_nobody_has(depot):
    first, second, third = (to_bench(depot, f"HU8800000{n}") for n in (1, 2, 3))
    act(depot, "lead", services.assign, second, "tech2")
    assert state(depot, second) == "awaiting_bench"  # assigned, not started
    taken = act(depot, "tech", lambda uow, actor: core.find_visit(uow, first).id == services.take_next(uow, actor).visit_id)
    assert taken and state(depot, first) == "in_repair"
    nxt = act(depot, "tech", lambda uow, actor: services.take_next(uow, actor).visit_id)
    with depot.uow(readonly=True) as uow:
        assert core.find_visit(uow, third).id == nxt  # the assigned one was skipped
        mine = [r["tag"] for r in views.queue(uow, mine=core.get_actor(uow, "tech").id)]
        theirs = [r["tag"] for r in views.queue(uow, mine=core.get_actor(uow, "tech2").id)]
        oldest_first = [r["tag"] for r in views.queue(uow)]
    assert mine == [first, third] and theirs == [second] and oldest_first == [first, second, third]
    assert refused(depot, "tech", services.take_next).code == "queue_empty"
    assert refused(depot, "tech", services.assign, second, "tech").code == "forbidden"
    assert refused(depot, "lead", services.assign, second, "clerk").code == "not_a_technician"
    act(depot, "lead", services.assign, second, None)  # back to the queue
    assert card(depot, second)["technician"] is None


def test_two_technicians_scanning_the_same_tag_at_the_same_moment(depot, db_url):
    """Two processes, released together: exactly one has the card, the other is told who."""
    import multiprocessing as mp

    tag = to_bench(depot)
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_start_after_barrier, args=(db_url, tag, name, barrier, results))
             for name in ("tech", "tech2")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    got = sorted((results.get(timeout=5) for _ in procs), key=lambda r: r[1])
    winner = card(depot, tag)["technician"]
    assert got[0][1] == "card_taken" and got[1][1] == "won", got
    assert got[1][0] == winner and f"({winner})" in got[0][2]
    with depot.uow(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(ReturnsLedgerEntry).where(
            ReturnsLedgerEntry.event == "repair_started")) == 1


def _start_after_barrier(url, tag, name, barrier, results):
    from rma.bench import services as bench
    from rma.core import services as core_
    from rma.db import Database
    from rma.errors import DomainError as Refused

    db = Database.from_url(url)
    with db.uow(readonly=True) as uow:
        core_.get_actor(uow, name)
    barrier.wait()
    try:
        with db.uow() as uow:
            bench.start_repair(uow, core_.get_actor(uow, name), tag)
        results.put((name, "won", ""))
    except Refused as e:
        results.put((name, e.code, e.message))
    finally:
        db.dispose()


# ---------------------------------------------------------------- complaint and findings

def test_complaint_and_findings_by_code_with_words_in_both_languages(depot):
    tag = to_bench(depot)
    coded(depot, tag)
    found = act(depot, "tech", services.add_finding, tag, **{**LCD_LOOSE, "designator": "j3"})
    assert found["designator"] == "J3" and found["defect"]["zh"] == "接插件或排线松动"
    again = act(depot, "tech", services.add_finding, tag, **LCD_LOOSE)  # a double Enter
    c = card(depot, tag)
    assert again["id"] == found["id"] and len(c["findings"]) == 1
    assert c["complaint"]["group"]["en"] == "Display" and c["complaint"]["note"] == "冷车时更明显"
    with depot.uow(readonly=True) as uow:
        details = core.find_visit(uow, tag).events[-1].details
    assert details["defect_zh"] == "接插件或排线松动" and details["section"] == "LCD"


@pytest.mark.parametrize("changes,code", [
    ({"defect": "D77"}, "unknown_code"),
    ({"section": "NOPE"}, "unknown_code"),
    ({"defect": "D12"}, "defect_not_for_section"),  # a cracked panel is not found on the main board
    ({"designator": "12U"}, "bad_designator"),
    ({"designator": "U12-3"}, "bad_designator"),
    ({"designator": "U\x1b12"}, "bad_designator"),
    ({"repair": "R99"}, "note_required"),  # "other" says what it is
    ({"repair": ""}, "code_required"),
    ({"note": "x" * 501}, "text_too_long"),
    ({"note": "bad\x00note"}, "bad_text"),
])
def test_a_bad_finding_is_refused_with_a_clear_error_and_nothing_recorded(depot, changes, code):
    tag = to_bench(depot)
    coded(depot, tag)
    e = refused(depot, "tech", services.add_finding, tag, **{**LCD_LOOSE, "section": "MB", **changes})
    assert e.code == code, e.message
    assert card(depot, tag)["findings"] == []
    if code == "defect_not_for_section":
        assert "LCD, TP" in e.message and "MB" in e.message


def test_the_complaint_needs_known_codes_and_a_symptom_not_a_group(depot):
    tag = to_bench(depot)
    act(depot, "tech", services.start_repair, tag)
    assert refused(depot, "tech", services.add_finding, tag, **LCD_LOOSE).code == "complaint_required"
    assert refused(depot, "tech", services.code_complaint, tag, condition="2", symptom="200").code == \
        "symptom_too_general"
    assert refused(depot, "tech", services.code_complaint, tag, condition="Q", symptom="202").code == "unknown_code"
    assert refused(depot, "tech", services.code_complaint, tag, condition="0", symptom="202").code == "note_required"
    act(depot, "tech", services.code_complaint, tag, condition="0", symptom="999", note="只在导航语音时出现")
    assert card(depot, tag)["complaint"]["symptom"]["code"] == "999"


def test_no_fault_found_stands_alone_and_goes_to_the_outgoing_test(depot):
    tag = to_bench(depot)
    coded(depot, tag)
    assert refused(depot, "tech", services.add_finding, tag, nff=True, section="LCD").code == "nff_with_codes"
    act(depot, "tech", services.add_finding, tag, nff=True, note="冷热循环两小时未复现")
    assert refused(depot, "tech", services.add_finding, tag, **LCD_LOOSE).code == "nff_conflict"
    result = act(depot, "tech", services.decide, tag, "test")
    assert result["state"] == "awaiting_test"
    with depot.uow(readonly=True) as uow:
        done = core.find_visit(uow, tag).events[-1]
    assert done.event == "repair_done" and done.details["nff"] is True


def test_a_withdrawn_finding_no_longer_counts_and_its_row_stays(depot):
    tag = to_bench(depot)
    coded(depot, tag)
    found = act(depot, "tech", services.add_finding, tag, **LCD_LOOSE)
    assert refused(depot, "tech", services.withdraw_finding, tag, found["id"], reason=" ").code == "text_required"
    act(depot, "tech", services.withdraw_finding, tag, found["id"], reason="录错位号")
    assert refused(depot, "tech", services.withdraw_finding, tag, found["id"], reason="again").code == \
        "finding_withdrawn"
    assert refused(depot, "tech", services.withdraw_finding, tag, 10**20, reason="x").code == "unknown_finding"
    assert card(depot, tag)["findings"] == []
    assert refused(depot, "tech", services.decide, tag, "test").code == "no_finding"
    with depot.uow(readonly=True) as uow:
        rows = list(uow.session.scalars(select(Finding).order_by(Finding.id)))
    assert [(r.sign, r.corrects_id) for r in rows] == [(1, None), (-1, found["id"])]
    act(depot, "tech", services.add_finding, tag, nff=True)  # the withdrawn fault no longer stands in its way


# ---------------------------------------------------------------- decisions and alerts

@pytest.fixture
def intercepted(depot):
    """A unit received at intake whose serial range an interception plan covers."""
    with depot.uow() as uow:
        intake.add_interception(uow, core.get_actor(uow, "boss"), model_code="HU-8800", serial_from="HU88000000",
                                serial_to="HU88009999", action="更换电源IC U12（ECN-2291）")
    with depot.uow() as uow:
        clerk = core.get_actor(uow, "clerk")
        parcel, _ = intake.receive_parcel(uow, clerk, courier="SF", waybill="SF1234567890", customer_code="SH-PD01")
        tag = intake.receive_unit(uow, clerk, parcel, "HU88000042").visit.tag
    act(depot, "clerk", intake.close_parcel, "SF1234567890")
    coded(depot, tag)
    act(depot, "tech", services.add_finding, tag, section="PWR", designator="U12", defect="D03", repair="R01")
    return tag


def test_a_unit_with_an_open_alert_cannot_leave_for_test_or_programming(depot, intercepted):
    tag = intercepted
    for decision in ("test", "programming"):
        e = refused(depot, "tech", services.decide, tag, decision)
        assert e.code == "alert_open" and "更换电源IC U12" in e.message
    assert state(depot, tag) == "in_repair"
    (alert,) = card(depot, tag)["alerts"]
    assert refused(depot, "tech2", services.mark_alert, tag, alert["id"], note="done").code == "card_taken"
    act(depot, "tech", services.mark_alert, tag, alert["id"], note="已更换 U12（新批次 D2411）")
    act(depot, "tech", services.decide, tag, "test")
    assert state(depot, tag) == "awaiting_test"


def test_a_technicians_waiver_waits_for_the_lead_then_the_unit_may_leave(depot, intercepted):
    tag = intercepted
    (alert,) = card(depot, tag)["alerts"]
    asked = act(depot, "tech", services.mark_alert, tag, alert["id"], note="该机U12已是新批次", waive=True)
    assert asked["status"] == "waiver_requested"
    assert refused(depot, "tech", services.mark_alert, tag, alert["id"], note="again", waive=True).code == \
        "request_pending"
    assert refused(depot, "tech", services.decide, tag, "test").code == "request_pending"
    assert refused(depot, "tech", services.decide_request, asked["request"], approve=True).code == "forbidden"
    with depot.uow(readonly=True) as uow:
        assert [r["kind"] for r in views.lead_view(uow)["approvals"]] == ["waiver"]
    act(depot, "lead", services.decide_request, asked["request"], approve=True)
    assert card(depot, tag)["alerts"][0]["status"] == "waived"
    e = refused(depot, "lead", services.decide_request, asked["request"], approve=False, note="no")
    assert e.code == "request_decided" and "lead" in e.message
    act(depot, "tech", services.decide, tag, "programming")
    assert state(depot, tag) == "programming"


def test_a_decision_needs_a_finding_and_scrap_and_return_need_a_reason(depot):
    tag = to_bench(depot)
    coded(depot, tag)
    for decision in ("test", "programming"):
        assert refused(depot, "tech", services.decide, tag, decision).code == "no_finding"
    assert refused(depot, "lead", services.decide, tag, "scrap", reason="主板烧毁").code == "no_finding"
    act(depot, "tech", services.add_finding, tag, section="MB", defect="D02", repair="R10")
    assert refused(depot, "tech", services.decide, tag, "return").code == "text_required"
    assert refused(depot, "tech", services.decide, tag, "ship").code == "unknown_decision"
    act(depot, "tech", services.decide, tag, "return", reason="经销商不同意付费维修")
    assert state(depot, tag) == "returned_unrepaired"
    assert refused(depot, "tech", services.add_finding, tag, **LCD_LOOSE).code == "not_on_bench"


def test_scrap_is_proposed_by_the_technician_and_approved_or_rejected_by_the_lead(depot):
    tag = to_bench(depot)
    coded(depot, tag)
    act(depot, "tech", services.add_finding, tag, section="MB", defect="D05", repair="R10", note="主板严重腐蚀")
    act(depot, "tech", labour.start, tag)
    proposed = act(depot, "tech", services.decide, tag, "scrap", reason="维修成本高于新品")
    assert proposed["pending"] and state(depot, tag) == "in_repair"
    assert card(depot, tag)["labour"]["technicians"][0]["running"] is False  # the proposal ended it
    assert refused(depot, "lead", services.decide_request, proposed["request"], approve=False).code == "text_required"
    act(depot, "lead", services.decide_request, proposed["request"], approve=False, note="先换电源板试修")
    again = act(depot, "tech", services.decide, tag, "scrap", reason="换电源板后仍无法开机")
    act(depot, "boss", services.decide_request, again["request"], approve=True)  # the supervisor may approve too
    assert state(depot, tag) == "scrapped"
    with depot.uow(readonly=True) as uow:
        scrapped = core.find_visit(uow, tag).events[-1]
    assert scrapped.event == "scrapped" and scrapped.details["requested_by"] == "tech"
    assert scrapped.actor.username == "boss" and scrapped.details["reason"] == "换电源板后仍无法开机"


# ---------------------------------------------------------------- human damage and photos

def test_human_damage_needs_a_photo_and_the_lead_makes_it_out_of_warranty(depot, intercepted):
    tag = intercepted
    e = refused(depot, "tech", services.report_damage, tag, damage="water", reason="主板水渍")
    assert e.code == "photo_required"
    assert refused(depot, "tech", services.report_damage, tag, damage="fire", reason="x").code == "unknown_damage"
    act(depot, "tech", photos.attach_photo, tag, filename="IMG_1.png", data=png(), purpose="damage")
    reported = act(depot, "tech", services.report_damage, tag, damage="water", reason="主板水渍腐蚀")
    assert card(depot, tag)["warranty"] == "unknown"  # not until the lead confirms
    act(depot, "lead", services.decide_request, reported["id"], approve=True)
    c = card(depot, tag)
    assert c["warranty"] == "out" and c["damage"]["kind"] == "water" and c["damage"]["confirmed_by"] == "lead"
    with depot.uow(readonly=True) as uow:
        record = uow.session.get(IntakeRecord, core.find_visit(uow, tag).id)
        confirmed = core.find_visit(uow, tag).events[-1]
    assert record.warranty is Warranty.OUT and confirmed.details["was"] == "unknown"
    assert refused(depot, "tech", services.report_damage, tag, damage="water", reason="again").code == \
        "damage_confirmed"


@pytest.mark.parametrize("data,name,code", [
    (b"%PDF-1.4 not a photo", "scan.pdf", "not_a_photo"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "broken.png", "not_a_photo"),
    (b"", "empty.jpg", "empty_file"),
    (b"\xff" * (photos.MAX_PHOTO_BYTES + 1), "huge.jpg", "file_too_big"),
    (None, "bomb.png", "image_too_big"),  # claims 40000 × 40000 in its header
])
def test_a_photo_that_is_not_an_image_or_too_big_is_refused_and_nothing_kept(depot, data, name, code):
    tag = to_bench(depot)
    act(depot, "tech", services.start_repair, tag)
    if data is None:
        data = _bomb()
    assert refused(depot, "tech", photos.attach_photo, tag, filename=name, data=data).code == code
    assert card(depot, tag)["photos"] == []


def _bomb() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def test_a_photo_is_kept_by_its_sha256_once(depot):
    import hashlib

    from rma import config

    tag = to_bench(depot)
    act(depot, "tech", services.start_repair, tag)
    data = png()
    first = act(depot, "tech", photos.attach_photo, tag, filename="IMG_9.png", data=data)
    again = act(depot, "tech", photos.attach_photo, tag, filename="IMG_9.png", data=data)
    sha = hashlib.sha256(data).hexdigest()
    assert first["sha256"] == again["sha256"] == sha and first["id"] == again["id"]
    assert (config.attachments_path() / sha[:2] / sha).read_bytes() == data
    assert (config.attachments_path() / sha[:2] / f"{sha}.thumb.jpg").exists()


# ---------------------------------------------------------------- labour

def test_labour_sessions_per_technician_one_running_at_a_time(depot):
    a, b = to_bench(depot, "HU88000001"), to_bench(depot, "HU88000002")
    act(depot, "tech", services.start_repair, a)
    act(depot, "tech", services.start_repair, b)
    act(depot, "tech", labour.start, a)
    act(depot, "tech", labour.start, a)  # already running: the same session
    act(depot, "tech", labour.start, b)  # on another unit: the first one ends
    assert refused(depot, "tech", labour.end, a, kind="pause").code == "labour_not_running"
    act(depot, "tech", labour.end, b, kind="pause")
    act(depot, "tech", labour.start, b)
    assert refused(depot, "tech2", labour.start, b).code == "card_taken"
    with depot.uow(readonly=True) as uow:
        sessions = list(uow.session.scalars(select(LabourSession).order_by(LabourSession.id)))
    assert [(s.end_kind, s.ended_at is None) for s in sessions] == [("switch", False), ("pause", False), (None, True)]
    summary = card(depot, b)["labour"]
    assert len(summary["sessions"]) == 2 and summary["technicians"][0]["running"]


def test_a_running_session_of_another_technician_keeps_the_unit_on_the_bench(depot):
    """The decider's own session ends with the decision; someone else's refuses it, and nothing is lost."""
    tag = to_bench(depot)
    coded(depot, tag)
    act(depot, "tech", services.add_finding, tag, **LCD_LOOSE)
    act(depot, "lead", labour.start, tag)  # the lead helps on it
    act(depot, "tech", labour.start, tag)
    e = refused(depot, "tech", services.decide, tag, "test")
    assert e.code == "labour_running" and "lead" in e.message
    assert state(depot, tag) == "in_repair" and len(card(depot, tag)["findings"]) == 1
    assert refused(depot, "tech", labour.end, tag, technician="lead").code == "forbidden"
    act(depot, "lead", labour.end, tag, kind="stop")
    act(depot, "tech", services.decide, tag, "test")
    with depot.uow(readonly=True) as uow:
        kinds = sorted(s.end_kind for s in uow.session.scalars(select(LabourSession)))
        assert check_ledgers(uow) == []
    assert kinds == ["decision", "stop"]


# ---------------------------------------------------------------- rework and history

def test_a_failed_test_shows_its_steps_on_the_card_and_a_repeat_shows_the_earlier_visit(depot):
    from drivers.fixture_sim import FixtureSimulator
    from rma.test_station import services as tests

    with depot.uow() as uow:
        core.add_user(uow, core.get_actor(uow, "admin"), username="tess", password="tess-pass", roles=[Role.TESTER])
    tag = to_bench(depot)
    coded(depot, tag)
    act(depot, "tech", services.add_finding, tag, **LCD_LOOSE)
    act(depot, "tech", services.decide, tag, "test")
    answers = {"display_red": "yes", "harness_id": "TH-0042"}
    with FixtureSimulator("head_unit", firmware="3.2.1", faults=("low_rail",)) as sim:
        failed = tests.run_test(depot, "tess", tag, port=sim.url, answers=answers, accessories_ok=True)
    assert failed.outcome.value == "fail" and state(depot, tag) == "in_repair"
    c = card(depot, tag, "tech")
    assert c["rework"]["count"] == 1 and c["mine"]
    (step,) = c["rework"]["last_failure"]["failed_steps"]
    assert step["step"] == "rail_5v" and float(step["value"]) < step["limits"]["min"]
    act(depot, "tech", services.add_finding, tag, section="PWR", designator="C88", defect="D08", repair="R01")
    act(depot, "tech", services.decide, tag, "test")
    with FixtureSimulator("head_unit", firmware="3.2.1") as sim:
        assert tests.run_test(depot, "tess", tag, port=sim.url, answers=answers, accessories_ok=True).outcome.value \
            == "pass"
    with depot.uow() as uow:
        core.move_visit(uow, core.get_actor(uow, "lead"), tag, VisitState.SHIPPED, "back to the dealer")
    again = to_bench(depot)  # the same serial, back again
    (earlier,) = card(depot, again)["history"]
    assert earlier["tag"] == tag and len(earlier["findings"]) == 2
    assert [t["outcome"] for t in sorted(earlier["tests"], key=lambda t: t["run_id"])] == ["fail", "pass"]


# ---------------------------------------------------------------- suggestions and the lead's view

def _repaired(db, serial: str, finding: dict, *, symptom: str = "202", passed: bool = True) -> str:
    tag = to_bench(db, serial)
    act(db, "tech", services.start_repair, tag)
    act(db, "tech", services.code_complaint, tag, condition="1", symptom=symptom)
    act(db, "tech", services.add_finding, tag, **finding)
    act(db, "tech", services.decide, tag, "test")
    if passed:
        with db.uow() as uow:
            lead = core.get_actor(uow, "lead")
            for to in ("in_test", "passed"):
                core.move_visit(uow, lead, tag, VisitState(to), "tested")
    return tag


def test_suggestions_rank_what_fixed_this_model_and_symptom_before(depot):
    cap = {"section": "PWR", "designator": "C88", "defect": "D08", "repair": "R01"}
    for n in range(3):
        _repaired(depot, f"HU8810000{n}", LCD_LOOSE)
    _repaired(depot, "HU88100004", {**LCD_LOOSE, "designator": "J4"})  # the same pair, at another connector
    for n in range(5, 7):
        _repaired(depot, f"HU8810000{n}", cap)
    _repaired(depot, "HU88100007", {"section": "MB", "defect": "D01", "repair": "R02"}, symptom="101")  # another symptom
    taken_back = to_bench(depot, "HU88100008")
    coded(depot, taken_back)
    wrong = act(depot, "tech", services.add_finding, taken_back, **cap)
    act(depot, "tech", services.withdraw_finding, taken_back, wrong["id"], reason="录错")  # subtracts what it added
    tag = to_bench(depot, "HU88200000")
    coded(depot, tag)
    act(depot, "tech", services.add_finding, tag, **cap)  # this card's own findings are not a suggestion for it
    with depot.uow(readonly=True) as uow:
        got = views.suggest(uow, tag)
    assert [(s["defect"]["code"], s["repair"]["code"], s["count"]) for s in got] == [("D09", "R08", 4),
                                                                                      ("D08", "R01", 2)]
    assert (got[0]["section"]["code"], got[0]["designator"], got[0]["key"]) == ("LCD", "J3", 1)
    assert got[0]["defect"]["zh"] == "接插件或排线松动"


def test_a_recoded_complaint_refiles_the_findings_under_the_new_symptom(depot):
    _repaired(depot, "HU88100001", LCD_LOOSE)  # an earlier unit: flickers (202)
    tag = to_bench(depot, "HU88100002")
    coded(depot, tag)  # 202
    act(depot, "tech", services.add_finding, tag, **LCD_LOOSE)
    act(depot, "tech", services.code_complaint, tag, condition="2", symptom="203")  # lines, not flicker
    other = to_bench(depot, "HU88100003")
    act(depot, "tech", services.start_repair, other)
    act(depot, "tech", services.code_complaint, other, condition="1", symptom="203")
    with depot.uow(readonly=True) as uow:
        under_203 = views.suggest(uow, other)
        model_id = core.find_visit(uow, tag).unit.model_id
        under_202 = views.suggestions(uow, model_id=model_id, symptom="202", visit_id=core.find_visit(uow, other).id)
        rows = list(uow.session.scalars(select(Finding).where(
            Finding.visit_id == core.find_visit(uow, tag).id).order_by(Finding.id)))
    assert [(s["defect"]["code"], s["count"]) for s in under_203] == [("D09", 1)]  # the recoded card's finding
    assert [(s["defect"]["code"], s["count"]) for s in under_202] == [("D09", 1)]  # the earlier unit's, still 202
    assert [(r.sign, r.symptom_code) for r in rows] == [(1, "202"), (-1, "202"), (1, "203")]
    assert len(card(depot, tag)["findings"]) == 1
    with depot.uow(readonly=True) as uow:
        assert core.find_visit(uow, tag).events[-1].details["refiled"] == 1


def test_the_leads_view_wip_by_technician_and_state_approvals_and_output(depot):
    done = _repaired(depot, "HU88300001", LCD_LOOSE, passed=False)
    waiting = to_bench(depot, "HU88300002")
    mine = to_bench(depot, "HU88300003")
    coded(depot, mine, "tech2")
    act(depot, "tech2", photos.attach_photo, mine, filename="x.png", data=png(), purpose="damage")
    act(depot, "tech2", services.report_damage, mine, damage="impact", reason="外壳变形")
    with depot.uow(readonly=True) as uow:
        view = views.lead_view(uow)
    wip = {(r["technician"], r["state"]): r["count"] for r in view["wip"]}
    assert wip == {(None, "awaiting_bench"): 1, ("tech2", "in_repair"): 1}
    assert [(r["tag"], r["kind"], r["requested_by"]) for r in view["approvals"]] == [(mine, "damage", "tech2")]
    (out,) = view["output"]
    assert (out["technician"], out["today"], out["week"], out["decisions"]["test"]["week"]) == ("tech", 1, 1, 1)
    assert view["totals"] == {"wip": 2, "today": 1, "week": 1}
    assert done and waiting


def test_wip_ageing_counts_each_unit_by_its_days_on_the_bench(depot):
    from sqlalchemy import update

    from rma.core.models import Visit

    old = to_bench(depot, "HU88400001")
    with depot.uow() as uow:  # received ten days ago
        opened = core.find_visit(uow, old).opened_at - timedelta(days=10)
        uow.session.execute(update(Visit).where(Visit.tag == old).values(opened_at=opened))
    to_bench(depot, "HU88400002")
    with depot.uow(readonly=True) as uow:
        (row,) = views.lead_view(uow)["wip"]
        (q_old, q_new) = views.queue(uow)
    assert row["age"] == {"0-2": 1, "3-7": 0, "8+": 1} and row["oldest_days"] == 10
    assert (q_old["tag"], q_old["age_days"], q_new["age_days"]) == (old, 10, 0)


# ---------------------------------------------------------------- code lists

def test_the_lead_edits_the_code_lists_and_every_change_is_audited(depot):
    assert refused(depot, "tech", codes.add_code, "defect", "D50", en="Whisker", zh="锡须").code == "forbidden"
    act(depot, "lead", codes.add_code, "defect", "d50", en="Tin whisker", zh="锡须", sections=["MB", "PWR"])
    e = refused(depot, "lead", codes.add_code, "defect", "D50", en="x", zh="y")
    assert e.code == "code_exists"
    e = refused(depot, "lead", codes.add_code, "defect", "D51", en="x", zh="y", sections=["ZZ"])
    assert e.code == "unknown_code"
    e = refused(depot, "lead", codes.add_code, "repair", "R50", en="x", zh="y", parent="100")
    assert e.code == "bad_code_parent"
    act(depot, "lead", codes.change_code, "defect", "D50", zh="锡须短路", active=False)
    with depot.uow(readonly=True) as uow:
        audit = [(a.action, a.subject, a.details) for a in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("bench_code%")).order_by(AuditEntry.id))]
        assert "D50" not in {c["code"] for c in codes.list_codes(uow, codes.CodeKind.DEFECT)}
    assert audit[0][:2] == ("bench_code_added", "defect D50")
    assert audit[1] == ("bench_code_changed", "defect D50", {"zh": {"from": "锡须", "to": "锡须短路"},
                                                              "active": {"from": True, "to": False}})
    tag = to_bench(depot)
    coded(depot, tag)
    assert refused(depot, "tech", services.add_finding, tag, section="MB", defect="D50", repair="R01").code == \
        "unknown_code"  # an inactive code is no longer offered


def test_codes_import_from_csv_applies_good_lines_and_reports_bad_ones(depot):
    csv_text = ("kind,code,en,zh,parent,sections,needs_note,active\n"
                "defect,D60,Delaminated board,板层分离,,MB PWR,no,yes\n"
                "symptom,960,Smell of burning,有焦糊味,900,,no,yes\n"
                "symptom,961,Bad,坏,101,,no,yes\n"  # a symptom is not a group
                "defect,D61,Bad sections,坏,,XX,no,yes\n"
                "section,SEN,Sensors,传感器,,,no,yes\n"
                "defect,D62,Sensor drift,传感器漂移,,SEN,no,maybe\n"
                "repair,R01,Replaced the component,更换元件,,,no,yes\n"  # an existing code's words change
                "defect,D63,Sensor open,传感器开路,,SEN,no,yes\n")  # after the section of the same file
    report = act(depot, "lead", codes.import_codes, csv_text.encode("utf-8"))
    assert (report.rows, report.created, report.updated) == (8, 4, 1)
    assert [line for line, _ in report.rejected] == [4, 5, 7]
    assert "maybe" in report.rejected[2][1]
    with depot.uow(readonly=True) as uow:
        listed = {(c["kind"], c["code"]): c for c in codes.list_codes(uow)}
    assert listed[("defect", "D60")]["sections"] == ["MB", "PWR"] and listed[("symptom", "960")]["parent"] == "900"
    assert listed[("repair", "R01")]["en"] == "Replaced the component"
    e = refused(depot, "lead", codes.import_codes, b"code,en\nX,Y\n")
    assert e.code == "bad_csv"


# ---------------------------------------------------------------- the ledger and rma check

def test_the_findings_ledger_refuses_update_and_delete_and_an_edit_behind_rmas_back_is_found(depot):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    tag = to_bench(depot)
    coded(depot, tag)
    act(depot, "tech", services.add_finding, tag, **LCD_LOOSE)
    for sql in ("UPDATE bench_findings SET defect_code = 'D01'", "DELETE FROM bench_findings"):
        with pytest.raises(DBAPIError) as e, depot.engine.begin() as conn:
            conn.execute(text(sql))
        assert "append-only" in str(e.value)
    with depot.engine.connect() as conn:
        if conn.dialect.name == "sqlite":  # nor is a row replaced
            with pytest.raises(DBAPIError) as e, conn.begin():
                conn.execute(text("INSERT OR REPLACE INTO bench_findings SELECT * FROM bench_findings"))
            assert "append-only" in str(e.value)
    with depot.engine.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        conn.execute(text("ALTER TABLE bench_findings DISABLE TRIGGER bench_findings_no_update" if postgres
                          else "DROP TRIGGER bench_findings_no_update"))
        conn.execute(text("UPDATE bench_findings SET defect_code = 'D01', repair_code = 'R02'"))
    with depot.uow(readonly=True) as uow:
        found = check_ledgers(uow)
    assert {(v.code, v.ledger) for v in found} >= {("ledger_tampered", "bench_findings")}


def test_rma_check_finds_what_left_the_bench_against_the_rules(depot, intercepted):
    """Moves made behind the bench's services (a manual move) are found: an open alert, no finding, labour."""
    tag = intercepted
    bare = to_bench(depot, "HU88000777")
    act(depot, "tech", services.start_repair, bare)
    act(depot, "tech", labour.start, bare)
    taken_back = to_bench(depot, "HU88000778")  # its only finding withdrawn before the move
    coded(depot, taken_back, "tech2")
    finding = act(depot, "tech2", services.add_finding, taken_back, **LCD_LOOSE)
    act(depot, "tech2", services.withdraw_finding, taken_back, finding["id"], reason="录错")
    with depot.uow() as uow:
        lead = core.get_actor(uow, "lead")
        core.transition(uow, lead, core.find_visit(uow, tag), VisitState.AWAITING_TEST, event="repair_done")
        core.transition(uow, lead, core.find_visit(uow, bare), VisitState.PROGRAMMING, event="sent_to_programming")
        core.transition(uow, lead, core.find_visit(uow, taken_back), VisitState.SCRAPPED, event="scrapped")
    with depot.uow(readonly=True) as uow:
        found = sorted((v.code, v.subject) for v in check_ledgers(uow))
    assert found == [("bench_decided_without_finding", bare), ("bench_decided_without_finding", taken_back),
                     ("bench_labour_after_leaving", bare), ("bench_left_with_open_alert", tag)]


def test_a_day_at_the_bench_leaves_the_ledgers_clean(depot, intercepted):
    tag = intercepted
    (alert,) = card(depot, tag)["alerts"]
    act(depot, "tech", labour.start, tag)
    act(depot, "tech", services.mark_alert, tag, alert["id"], note="已更换 U12")
    act(depot, "tech", services.decide, tag, "test")
    with depot.uow(readonly=True) as uow:
        assert check_ledgers(uow) == []
        assert uow.session.get(RepairCard, core.find_visit(uow, tag).id).decision == "test"
        assert uow.session.scalar(select(func.count()).select_from(ApprovalRequest)) == 0


def test_the_week_starts_on_monday_in_the_lead_view(depot):
    with depot.uow(readonly=True) as uow:
        view = views.lead_view(uow)
    week = date.fromisoformat(view["week_from"][:10])
    assert week.weekday() == 0 and week <= date.fromisoformat(view["today_from"][:10])


def test_the_findings_are_checked_in_ranges_of_visits_read_in_id_order_and_an_edit_is_found(depot, monkeypatch):
    """``rma check`` reads the findings of a range of visits through their visit index, each
    visit's in id order, so that a clean ledger is verified from that one pass (no visit's stream
    recomputed on its own), even where a withdrawal (sign −1) came after the finding it withdraws;
    its workers share the ranges; an edited finding and a deleted one are each found once."""
    from rma.core import checks, seals
    from tests.integration.test_tamper import _switch_guards

    tags = []
    for serial in ("HU88000061", "HU88000062", "HU88000063"):
        tag = to_bench(depot, serial)
        coded(depot, tag)
        first = act(depot, "tech", services.add_finding, tag, **LCD_LOOSE)
        act(depot, "tech", services.withdraw_finding, tag, first["id"], reason="录错")
        act(depot, "tech", services.add_finding, tag, **{**LCD_LOOSE, "designator": "J4"})
        tags.append(tag)
    assert seals.stream_index(seals.ledger_for("bench_findings")) == "ix_bench_findings_visit_id"
    monkeypatch.setattr(checks, "ROWS_PER_PIECE", 1)
    with depot.uow(readonly=True) as uow:
        pieces = checks.plan(uow)
        ids = {t: str(core.find_visit(uow, t).id) for t in tags}
    assert len([p for p in pieces if p[:2] == ("seals", "bench_findings")]) > 1 and ("lost", "bench_findings") in pieces

    recomputed = []
    exact = seals.exact_digest
    monkeypatch.setattr(seals, "exact_digest", lambda conn, ledger, stream: recomputed.append(stream) or exact(
        conn, ledger, stream))
    assert [v.code for v in run_checks_of(depot)] == [] and recomputed == []

    edited, cut = ids[tags[0]], ids[tags[2]]
    with depot.engine.begin() as conn:
        _switch_guards(conn, "bench_findings", on=False)
        conn.execute(text("UPDATE bench_findings SET note = 'forged' WHERE id = (SELECT max(id) FROM bench_findings "
                          "WHERE visit_id = :v)"), {"v": int(edited)})
        conn.execute(text("DELETE FROM bench_findings WHERE id = (SELECT max(id) FROM bench_findings "
                          "WHERE visit_id = :v)"), {"v": int(cut)})
        _switch_guards(conn, "bench_findings", on=True)
    found = [(v.code, v.ledger, v.subject.split()[-1]) for v in run_checks_of(depot)]
    assert sorted(found) == sorted([("ledger_tampered", "bench_findings", edited),
                                    ("ledger_tampered", "bench_findings", cut)])


def run_checks_of(db):  # noqa: ANN001, ANN201
    from rma.core.checks import run_checks

    return run_checks(db, workers=1).violations
