"""What the bench reads: the queue, a repair card with its history and suggestions, the lead's view.

Everything is computed where the data is: the queue and the lead's view are a few grouped
queries over the visits on the bench (a few hundred at most, found by the state index); the
suggestions are one aggregate over the findings of earlier visits of the same model and
symptom (one range of the findings' ``ix_bench_findings_suggest``).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal_column, select

from rma.bench import labour
from rma.bench import parts as bench_parts
from rma.bench.models import ApprovalRequest, BenchCode, CodeKind, Finding, RepairCard
from rma.bench.photos import photos_of
from rma.bench.services import (
    DECISIONS,
    ON_BENCH,
    active_findings,
    code_words,
    damage_confirmed,
    finding_dict,
    list_requests,
    person_name,
    visit_of,
)
from rma.core.models import ProductModel, ReturnsLedgerEntry, Unit, User, Visit
from rma.core.parse import check_limit
from rma.core.services import normalise_key, usable_key
from rma.core.states import VisitState
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.intake import services as intake
from rma.intake.models import IntakeRecord, VisitAlert

S = VisitState
QUEUE_STATES = (S.AWAITING_BENCH, S.IN_REPAIR)
SUGGESTIONS = 5
AGE_BUCKETS = (2, 7)  # days: up to 2, 3 to 7, over 7


# ---------------------------------------------------------------- the queue

def _queue_query():  # noqa: ANN202
    repeat = Visit.__table__.alias("repeat_visit")
    alerts = select(func.count()).where(VisitAlert.visit_id == Visit.id).correlate(Visit).scalar_subquery()
    resolved = (select(func.count()).where(ReturnsLedgerEntry.visit_id == Visit.id,
                                           ReturnsLedgerEntry.event.in_((intake.ALERT_DONE, intake.ALERT_WAIVED)))
                .correlate(Visit).scalar_subquery())
    rework = (select(func.count()).where(ReturnsLedgerEntry.visit_id == Visit.id,
                                         ReturnsLedgerEntry.event == "test_failed").correlate(Visit).scalar_subquery())
    pending = (select(func.count()).where(ApprovalRequest.visit_id == Visit.id, ApprovalRequest.decided_at.is_(None))
               .correlate(Visit).scalar_subquery())
    return (select(Visit.tag, Unit.serial, ProductModel.code, Visit.state, Visit.opened_at, IntakeRecord.warranty,
                   repeat.c.tag, alerts, resolved, rework, pending, User.username, User.display_name,
                   RepairCard.symptom_code)
            .join(Unit, Unit.id == Visit.unit_id).join(ProductModel, ProductModel.id == Unit.model_id)
            .outerjoin(IntakeRecord, IntakeRecord.visit_id == Visit.id)
            .outerjoin(repeat, repeat.c.id == IntakeRecord.repeat_of_id)
            .outerjoin(RepairCard, RepairCard.visit_id == Visit.id)
            .outerjoin(User, User.id == RepairCard.technician_id)
            .order_by(Visit.opened_at, Visit.id))


def _queue_row(r: Any, now: datetime) -> dict[str, Any]:
    (tag, serial, model, state, opened_at, warranty, repeat_of, alerts, resolved, rework, pending, tech,
     tech_name, symptom) = r
    return {"tag": tag, "serial": serial, "model": model, "state": state.value, "opened_at": opened_at.isoformat(),
            "age_days": max(0, (now - opened_at).days), "warranty": warranty.value if warranty else None,
            "repeat_of": repeat_of, "alerts": int(alerts), "open_alerts": int(alerts) - int(resolved),
            "rework": int(rework), "pending_requests": int(pending), "technician": tech,
            "technician_name": tech_name or tech, "symptom": symptom}


def queue(uow: UnitOfWork, *, technician: str | None = None, mine: int | None = None,
          unassigned: bool = False, limit: int | None = None) -> list[dict[str, Any]]:
    """Visits awaiting the bench and in repair, oldest first; ``mine``: a technician's own bench
    (their cards awaiting the bench, in repair or awaiting parts)."""
    now = uow.now()
    q = _queue_query()
    if mine is not None:
        q = q.where(Visit.state.in_(ON_BENCH), RepairCard.technician_id == mine)
    else:
        q = q.where(Visit.state.in_(QUEUE_STATES))
    if technician:
        name = technician.strip().lower()
        q = q.where(User.username == (name if usable_key(name.upper()) else ""))
    if unassigned:
        q = q.where(RepairCard.technician_id.is_(None))
    if check_limit(limit):
        q = q.limit(limit)
    return [_queue_row(r, now) for r in uow.session.execute(q)]


# ---------------------------------------------------------------- suggestions

def suggestions(uow: UnitOfWork, *, model_id: int, symptom: str, visit_id: int | None = None,
                limit: int = SUGGESTIONS) -> list[dict[str, Any]]:
    """For this model and symptom: the defect → repair pairs the bench recorded most often before.

    Counted over the findings of the other visits (a withdrawal subtracts what it withdraws) in
    one range of ``ix_bench_findings_suggest``, never touching the table; each pair comes with the
    section and designator it was most often found at.
    """
    f = Finding.__table__
    grouped = (  # grouped in the index's own order: the aggregate streams, nothing is sorted
        select(f.c.defect_code.label("d"), f.c.repair_code.label("r"), f.c.section_code.label("s"),
               f.c.designator.label("des"), func.sum(f.c.sign).label("n"))
        .where(f.c.model_id == model_id, f.c.symptom_code == symptom, f.c.defect_code.is_not(None),
               f.c.visit_id != (visit_id or 0))
        .group_by(f.c.defect_code, f.c.repair_code, f.c.section_code, f.c.designator)
        .having(func.sum(f.c.sign) > 0)
    ).cte("grouped")
    designator_or_empty = func.coalesce(grouped.c.des, literal_column("''"))  # NULL sorts alike on both databases
    ranked = select(
        grouped.c.d, grouped.c.r, grouped.c.s, grouped.c.des,
        func.sum(grouped.c.n).over(partition_by=(grouped.c.d, grouped.c.r)).label("total"),
        func.row_number().over(partition_by=(grouped.c.d, grouped.c.r),
                               order_by=(grouped.c.n.desc(), grouped.c.s, designator_or_empty)).label("rank"),
    ).cte("ranked")
    rows = uow.session.execute(
        select(ranked.c.d, ranked.c.r, ranked.c.s, ranked.c.des, ranked.c.total).where(ranked.c.rank == 1)
        .order_by(ranked.c.total.desc(), ranked.c.d, ranked.c.r).limit(limit)).all()
    if not rows:
        return []
    wanted = {code for row in rows for code in row[:3]}
    words = {(k.kind, k.code): k for k in uow.session.scalars(select(BenchCode).where(BenchCode.code.in_(wanted)))}

    def code(kind: CodeKind, value: str) -> dict[str, str]:
        k = words.get((kind, value))
        return {"code": value, "en": k.text_en if k else value, "zh": k.text_zh if k else value}

    return [{"key": n, "defect": code(CodeKind.DEFECT, d), "repair": code(CodeKind.REPAIR, r),
             "section": code(CodeKind.SECTION, s), "designator": des or None, "count": int(total)}
            for n, (d, r, s, des, total) in enumerate(rows, 1)]


def suggest(uow: UnitOfWork, key: str, *, limit: int = SUGGESTIONS) -> list[dict[str, Any]]:
    visit = visit_of(uow, key)
    card = uow.session.get(RepairCard, visit.id)
    if card is None or card.symptom_code is None:
        raise DomainError("complaint_required", "code the complaint (condition and symptom) of {tag} before its "
                          "findings", tag=visit.tag)
    return suggestions(uow, model_id=card.model_id, symptom=card.symptom_code, visit_id=visit.id,
                       limit=check_limit(limit, 50) or SUGGESTIONS)


# ---------------------------------------------------------------- the repair card

def _code(uow: UnitOfWork, kind: CodeKind, value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    c = uow.session.scalar(select(BenchCode).where(BenchCode.kind == kind, BenchCode.code == value))
    return {"code": value, "en": c.text_en if c else value, "zh": c.text_zh if c else value,
            "parent": c.parent if c else None}


def _complaint(uow: UnitOfWork, card: RepairCard | None) -> dict[str, Any]:
    if card is None:
        return {"condition": None, "symptom": None, "group": None, "note": None}
    symptom = _code(uow, CodeKind.SYMPTOM, card.symptom_code)
    group = _code(uow, CodeKind.SYMPTOM, symptom["parent"]) if symptom and symptom["parent"] else None
    return {"condition": _code(uow, CodeKind.CONDITION, card.condition_code), "symptom": symptom, "group": group,
            "note": card.complaint_note}


def _findings(uow: UnitOfWork, visit_id: int) -> list[dict[str, Any]]:
    found = active_findings(uow, visit_id)
    words = code_words(uow, found)
    return [finding_dict(f, words) for f in found]


def _rework(uow: UnitOfWork, tag: str) -> dict[str, Any]:
    """How often the outgoing test failed this visit, and the last failure's steps with their values."""
    from rma.test_station.services import runs_of_visit, show_run

    runs = [r for r in runs_of_visit(uow, tag) if r["kind"] == "outgoing"]
    failed = [r for r in runs if r["outcome"] == "fail"]
    last = None
    if failed:
        run = show_run(uow, failed[0]["run_id"])  # newest first
        last = {"run_id": run["run_id"], "attempt": run["attempt"], "station": run["station"],
                "operator": run["operator"], "ended_at": run["ended_at"], "reason": run["reason"],
                "checklist": run["checklist"],
                "failed_steps": [s for s in run["steps"] if s["verdict"] != "pass"]}
    return {"count": len(failed), "last_failure": last}


def _history(uow: UnitOfWork, visit: Visit) -> list[dict[str, Any]]:
    """The unit's earlier visits: what was found and done, and how their tests ended."""
    from rma.test_station.services import runs_of_visit

    earlier = list(uow.session.scalars(select(Visit).where(
        Visit.unit_id == visit.unit_id, Visit.id != visit.id, Visit.opened_at <= visit.opened_at)
        .order_by(Visit.opened_at.desc(), Visit.id.desc())))
    fitted = bench_parts.history_parts(uow, [v.id for v in earlier])
    out = []
    for v in earlier:
        card = uow.session.get(RepairCard, v.id)
        out.append({"tag": v.tag, "state": v.state.value, "opened_at": v.opened_at.isoformat(),
                    "closed_at": v.closed_at.isoformat() if v.closed_at else None,
                    "return_reason": v.return_reason, "complaint": _complaint(uow, card),
                    "decision": card.decision if card else None, "findings": _findings(uow, v.id),
                    "parts": fitted.get(v.id, []),
                    "tests": [{"run_id": r["run_id"], "kind": r["kind"], "attempt": r["attempt"],
                               "outcome": r["outcome"], "failed_steps": r["failed_steps"],
                               "started_at": r["started_at"]} for r in runs_of_visit(uow, v.tag)]})
    return out


def _on_board(findings: list[dict[str, Any]], bom: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each finding says whether its designator is on the model's BOM (None: no designator, or no BOM)."""
    on_board = {b["designator"] for b in bom}
    return [{**f, "on_board": (f["designator"] in on_board) if f["designator"] and on_board else None}
            for f in findings]


def card_visit(uow: UnitOfWork, key: str) -> Visit:
    """The visit a card is asked for: a tag (open or not), or the open visit of a serial."""
    tag = normalise_key(key)
    visit = uow.session.scalar(select(Visit).where(Visit.tag == tag)) if usable_key(tag) else None
    return visit or visit_of(uow, key)


def card_view(uow: UnitOfWork, key: str, viewer_id: int | None = None) -> dict[str, Any]:
    """Everything on one repair card, for its page and ``rma bench card``: plain data, JSON-ready."""
    visit = card_visit(uow, key)
    card = uow.session.get(RepairCard, visit.id)
    unit = visit.unit
    facts = intake.intake_summary(uow, visit)
    code, complaint_text = intake.return_reason_of(uow, visit)
    damage = damage_confirmed(uow, visit.id)
    holder = card.technician if card else None
    complaint = _complaint(uow, card)
    symptom = card.symptom_code if card else None
    parts = bench_parts.card_parts(uow, visit)
    return {
        "tag": visit.tag, "serial": unit.serial, "state": visit.state.value, "on_bench": visit.state in ON_BENCH,
        "model": {"code": unit.model.code, "name": unit.model.name, "family": unit.model.family},
        "opened_at": visit.opened_at.isoformat(), "age_days": max(0, (uow.now() - visit.opened_at).days),
        "customer": visit.customer.code if visit.customer else None,
        "return_reason": visit.return_reason, "reason_code": code, "reason_text": complaint_text,
        "warranty": "out" if damage else facts.get("warranty"), "warranty_until": facts.get("warranty_until"),
        "damage": ({"kind": damage.damage.value if damage.damage else None, "reason": damage.reason,
                    "confirmed_by": damage.decided_by.username if damage.decided_by else None} if damage else None),
        "repeat_of": facts.get("repeat_of"),
        "technician": holder.username if holder else None, "technician_name": person_name(holder) if holder else None,
        "mine": bool(viewer_id and holder and holder.id == viewer_id),
        "started_at": card.started_at.isoformat() if card and card.started_at else None,
        "complaint": complaint,
        "findings": _on_board(_findings(uow, visit.id), parts["bom"]),
        "parts": parts,
        "suggestions": suggestions(uow, model_id=unit.model_id, symptom=symptom, visit_id=visit.id) if symptom else [],
        "alerts": intake.alert_states(uow, visit),
        "requests": list_requests(uow, pending_only=False, tag=visit.tag) if visit.closed_at is None else [],
        "photos": photos_of(uow, visit.id),
        "labour": labour.summary(uow, visit.id),
        "running_labour": bool(viewer_id and (mine := labour.running_session(uow, viewer_id)) is not None
                               and mine.visit_id == visit.id),
        "rework": _rework(uow, visit.tag),
        "decision": ({"decision": card.decision, "at": card.decided_at.isoformat(),
                      "by": uow.session.get(User, card.decided_by_id).username}
                     if card and card.decision else None),
        "history": _history(uow, visit),
    }


def find_card_key(uow: UnitOfWork, key: str) -> str:
    """The tag a scan means (a tag, or a serial's open visit)."""
    return card_visit(uow, key).tag


# ---------------------------------------------------------------- the lead's view

def _local_midnight(now: datetime, days_back: int = 0) -> datetime:
    day = now.astimezone().date() - timedelta(days=days_back)
    return datetime.combine(day, time.min).astimezone()


def lead_view(uow: UnitOfWork) -> dict[str, Any]:
    """Work in progress per technician and state with its ageing; what waits for approval; output."""
    now = uow.now()
    young, old = (now - timedelta(days=n) for n in AGE_BUCKETS)
    wip_rows = uow.session.execute(
        select(RepairCard.technician_id, Visit.state, func.count(), func.min(Visit.opened_at),
               func.sum(case((Visit.opened_at >= young, 1), else_=0)),
               func.sum(case((and_(Visit.opened_at < young, Visit.opened_at >= old), 1), else_=0)),
               func.sum(case((Visit.opened_at < old, 1), else_=0)))
        .select_from(Visit).outerjoin(RepairCard, RepairCard.visit_id == Visit.id)
        .where(Visit.state.in_(ON_BENCH)).group_by(RepairCard.technician_id, Visit.state)).all()
    today, week = _local_midnight(now), _local_midnight(now, now.astimezone().weekday())
    out_rows = uow.session.execute(
        select(RepairCard.technician_id, RepairCard.decision,
               func.sum(case((RepairCard.decided_at >= today, 1), else_=0)), func.count())
        .where(RepairCard.decided_at >= week).group_by(RepairCard.technician_id, RepairCard.decision)).all()
    people = {u.id: u for u in uow.session.scalars(select(User).where(
        User.id.in_({r[0] for r in wip_rows + out_rows if r[0] is not None})))}

    def who(user_id: int | None) -> dict[str, Any]:
        u = people.get(user_id)
        return {"technician": u.username if u else None, "technician_name": person_name(u) if u else None}

    wip = [{**who(tech), "state": state.value, "count": n, "oldest_days": max(0, (now - oldest).days),
            "age": {"0-2": int(a), "3-7": int(b), "8+": int(c)}}
           for tech, state, n, oldest, a, b, c in wip_rows]
    wip.sort(key=lambda r: (r["technician"] is not None, r["technician"] or "", list(ON_BENCH).index(VisitState(r["state"]))))
    output: dict[Any, dict[str, Any]] = {}
    for tech, decision, n_today, n_week in out_rows:
        row = output.setdefault(tech, {**who(tech), "today": 0, "week": 0,
                                       "decisions": {d: {"today": 0, "week": 0} for d in DECISIONS}})
        row["today"] += int(n_today)
        row["week"] += int(n_week)
        row["decisions"][decision]["today"] += int(n_today)
        row["decisions"][decision]["week"] += int(n_week)
    return {
        "at": now.isoformat(), "today_from": today.isoformat(), "week_from": week.isoformat(),
        "wip": wip, "approvals": list_requests(uow, pending_only=True),
        "output": sorted(output.values(), key=lambda r: r["technician"] or ""),
        "totals": {"wip": sum(r["count"] for r in wip), "today": sum(r["today"] for r in output.values()),
                   "week": sum(r["week"] for r in output.values())},
    }
