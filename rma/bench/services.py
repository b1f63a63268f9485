"""The repair technician's and the repair lead's use cases: taking work, the repair card
(complaint, findings, interception alerts, human damage), decisions, and the lead's approvals.

A visit on the bench has one repair card. Whoever takes it first (a scan, ``start``, "take
next", or the lead's assignment) has it; another technician is told who has it and changes
nothing on it; the lead may work on any card. Every change is an event in the returns ledger,
so the unit's timeline tells the bench's story; findings are a ledger of their own.

Leaving the bench (to test, to programming, scrapped, returned unrepaired) is a decision,
made through ``core.services.transition``, and needs at least one finding. To test or to
programming also needs every interception alert done or waived. A decision closes the
deciding technician's own running labour session at that moment; another technician's
running session refuses it (``labour_running``): nobody's time is cut short behind their back.
A technician's scrap proposal ends their own session too.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.exc import StaleDataError

from rma.bench import codes as code_lists
from rma.bench import parts as bench_parts
from rma.bench.models import (
    ApprovalRequest,
    BenchCode,
    BenchPhoto,
    CodeKind,
    Damage,
    Finding,
    LabourSession,
    RepairCard,
    RequestKind,
)
from rma.core.ledger import record_visit_event
from rma.core.models import Role, User, Visit
from rma.core.parse import clean_text, control_character, known_id
from rma.core.services import (
    find_open_visit,
    normalise_key,
    require_role,
    transition,
    usable_key,
)
from rma.core.states import VisitState
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.intake import services as intake
from rma.intake.models import IntakeRecord, InterceptionKind, Warranty

S = VisitState
BENCH_WORKERS = (Role.TECHNICIAN, Role.LEAD)
ASSIGNERS = (Role.LEAD,)
APPROVERS = (Role.LEAD, Role.SUPERVISOR)
ON_BENCH = (S.AWAITING_BENCH, S.IN_REPAIR, S.AWAITING_PARTS)
WORKING = (S.IN_REPAIR, S.AWAITING_PARTS)  # a card is written while the unit is in repair or waits for parts
DESIGNATOR_RE = re.compile(r"^[A-Z]{1,5}[0-9]{1,4}[A-Z]?$")  # U12, C45, J3, CN2, LED3, U12A, MECH1
NOTE_LIMIT = 500
# decision -> (state it moves to, returns-ledger event)
DECISIONS: dict[str, tuple[VisitState, str]] = {
    "test": (S.AWAITING_TEST, "repair_done"),
    "programming": (S.PROGRAMMING, "sent_to_programming"),
    "scrap": (S.SCRAPPED, "scrapped"),
    "return": (S.RETURNED_UNREPAIRED, "returned_unrepaired"),
}
DECISION_EVENTS = tuple(event for _, event in DECISIONS.values())
REQUEST_WORDS = {RequestKind.DAMAGE: "human damage", RequestKind.SCRAP: "scrap", RequestKind.WAIVER: "waiver"}


# ---------------------------------------------------------------- small helpers

def is_lead(actor: User) -> bool:
    return Role.LEAD in actor.roles


def person_name(user: User | None) -> str:
    return "?" if user is None else user.display_name or user.username


def visit_of(uow: UnitOfWork, key: str) -> Visit:
    """The visit a scan means (a tag, or a serial's open visit); a key that cannot be one names nothing."""
    if not usable_key(normalise_key(key)):
        raise DomainError("unknown_unit", "no unit with serial or tag {key!r}", key=(key or "")[:40])
    return find_open_visit(uow, key)


def user_named(uow: UnitOfWork, name: str | None) -> User | None:
    """A user by name; a name that cannot be one (control characters, too long) is nobody."""
    name = (name or "").strip().lower()
    if not name or len(name) > 64 or control_character(name):
        return None
    return uow.session.scalar(select(User).where(User.username == name))


def _taken(visit: Visit, holder: User | None) -> DomainError:
    return DomainError("card_taken", "visit {tag} is on the bench of {name} ({user})", tag=visit.tag,
                       name=person_name(holder), user=holder.username if holder else "?")


def _not_on_bench(visit: Visit) -> DomainError:
    return DomainError("not_on_bench", "visit {tag} is {state}: it is not on the bench", tag=visit.tag,
                       state=visit.state.value)


def _touch(uow: UnitOfWork, card: RepairCard, visit: Visit) -> None:
    """A changed card is written now; a card changed by someone else at the same moment is refused."""
    card.updated_at = uow.now()
    try:
        uow.session.flush()
    except StaleDataError:
        raise DomainError("concurrent_change", "visit {tag} was changed by someone else at the same moment; "
                          "look at it again and retry", tag=visit.tag) from None


def _insert_card(uow: UnitOfWork, visit: Visit) -> None:
    """The visit's card, unless one is there (a second station's at the same moment never breaks the transaction)."""
    dialect = uow.session.get_bind().dialect.name
    table = RepairCard.__table__
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).values(
        visit_id=visit.id, model_id=visit.unit.model_id, updated_at=uow.now(), version=1)
    uow.session.execute(stmt.on_conflict_do_nothing(index_elements=["visit_id"]))


def ensure_card(uow: UnitOfWork, visit: Visit) -> RepairCard:
    card = uow.session.get(RepairCard, visit.id)
    if card is None:
        _insert_card(uow, visit)
        card = uow.session.get(RepairCard, visit.id, populate_existing=True)
    return card


def _claim(uow: UnitOfWork, visit: Visit, actor: User) -> tuple[RepairCard, bool]:
    """Take the visit's card for ``actor``: (the card, whether it was taken just now).

    One conditional UPDATE decides between two technicians scanning the same tag at once:
    the first one's row is there when the second one's UPDATE looks, so it finds the card
    taken and is told by whom.
    """
    if uow.session.get(RepairCard, visit.id) is None:
        _insert_card(uow, visit)
    now = uow.now()
    taken = uow.session.execute(
        update(RepairCard).where(RepairCard.visit_id == visit.id, RepairCard.technician_id.is_(None))
        .values(technician_id=actor.id, assigned_at=now, updated_at=now, version=RepairCard.version + 1)
        .execution_options(synchronize_session=False)).rowcount == 1
    card = uow.session.get(RepairCard, visit.id, populate_existing=True)
    if card.technician_id != actor.id:
        raise _taken(visit, uow.session.get(User, card.technician_id))
    return card, taken


def working_card(uow: UnitOfWork, actor: User, key: str, *, action: str, states: tuple[VisitState, ...] = WORKING,
                 roles: tuple[Role, ...] = BENCH_WORKERS) -> tuple[RepairCard, Visit]:
    """The card a worker changes: the visit on the bench, its card held by the actor (taken now if
    nobody had it) or by anyone when the actor is the lead."""
    require_role(actor, *roles, action=action)
    visit = visit_of(uow, key)
    if visit.state not in states:
        raise _not_on_bench(visit)
    card = uow.session.get(RepairCard, visit.id)
    holder = card.technician_id if card is not None else None
    if is_lead(actor) or Role.SUPERVISOR in actor.roles:
        return card or ensure_card(uow, visit), visit
    if holder is None:
        card, _ = _claim(uow, visit, actor)
    elif holder != actor.id:
        raise _taken(visit, card.technician)
    return card, visit


def active_findings(uow: UnitOfWork, visit_id: int) -> list[Finding]:
    """The visit's findings that stand (not withdrawn), oldest first."""
    withdrawn = select(Finding.corrects_id).where(Finding.visit_id == visit_id, Finding.sign < 0)
    return list(uow.session.scalars(select(Finding).where(
        Finding.visit_id == visit_id, Finding.sign > 0, Finding.id.not_in(withdrawn)).order_by(Finding.id)))


def clean_designator(value: str | None) -> str | None:
    """A reference designator as printed on the board (U12, C45, J3, CN2); its form only."""
    text = (value or "").strip().upper()
    if not text:
        return None
    if not DESIGNATOR_RE.match(text):
        raise DomainError("bad_designator", "{designator!r} is not a reference designator (letters then a number, "
                          "e.g. U12, C45, J3, CN2)", designator=(value or "")[:20])
    return text


def _code_details(prefix: str, code: BenchCode | None) -> dict[str, Any]:
    """A code in an event: the code and its words in both languages as they were at that moment."""
    if code is None:
        return {}
    return {prefix: code.code, f"{prefix}_en": code.text_en, f"{prefix}_zh": code.text_zh}


def _note(note: str | None, field: str = "note") -> str | None:
    return clean_text(note, field, limit=NOTE_LIMIT, multiline=True)


# ---------------------------------------------------------------- taking work

def start_repair(uow: UnitOfWork, actor: User, key: str) -> RepairCard:
    """A technician takes the visit (scanning its tag does this): it is theirs, and in repair.

    Scanning a card one already has changes nothing; a card someone else has is refused with
    their name (``card_taken``).
    """
    require_role(actor, *BENCH_WORKERS, action="repair units")
    visit = visit_of(uow, key)
    if visit.state not in ON_BENCH:
        raise _not_on_bench(visit)
    card, taken = _claim(uow, visit, actor)
    if visit.state is S.AWAITING_BENCH:
        card.started_at = card.started_at or uow.now()
        _touch(uow, card, visit)
        transition(uow, actor, visit, S.IN_REPAIR, event="repair_started", details={"technician": actor.username})
    elif taken:
        record_visit_event(uow, visit, actor, "bench_taken", details={"technician": actor.username})
    return card


def take_next(uow: UnitOfWork, actor: User) -> RepairCard:
    """The oldest visit waiting for the bench that nobody has, taken and started."""
    require_role(actor, *BENCH_WORKERS, action="repair units")
    nobody = ~exists().where(RepairCard.visit_id == Visit.id, RepairCard.technician_id.is_not(None))
    candidates = list(uow.session.scalars(
        select(Visit.id).where(Visit.state == S.AWAITING_BENCH, nobody).order_by(Visit.opened_at, Visit.id)
        .limit(20).with_for_update(skip_locked=True, of=Visit)))
    for visit_id in candidates:
        visit = uow.session.get(Visit, visit_id)
        try:
            with uow.session.begin_nested():
                return start_repair(uow, actor, visit.tag)
        except DomainError as exc:
            if exc.code not in ("card_taken", "concurrent_change"):
                raise
    raise DomainError("queue_empty", "no unit waits for the bench without a technician")


def assign(uow: UnitOfWork, actor: User, key: str, technician: str | None) -> RepairCard:
    """The lead gives a visit on the bench to a technician (``None``: to nobody, back to the queue)."""
    require_role(actor, *ASSIGNERS, action="assign bench work")
    visit = visit_of(uow, key)
    if visit.state not in ON_BENCH:
        raise _not_on_bench(visit)
    target = None
    if (technician or "").strip():
        target = user_named(uow, technician)
        if target is None:
            raise DomainError("unknown_user", "no user named {name}", name=(technician or "")[:64])
        if not target.active or not target.roles & set(BENCH_WORKERS):
            raise DomainError("not_a_technician", "{user} is not an active repair technician", user=target.username)
    card = ensure_card(uow, visit)
    before = card.technician
    if (before.id if before else None) == (target.id if target else None):
        return card
    running = _running(uow, visit.id)
    if before is not None and any(s.technician_id == before.id for s in running):
        raise DomainError("labour_running", "visit {tag}: the labour of {name} is still running; stop it first",
                          tag=visit.tag, name=person_name(before))
    card.technician_id = target.id if target else None
    card.assigned_at = uow.now() if target else None
    _touch(uow, card, visit)
    record_visit_event(uow, visit, actor, "bench_assigned", details={
        "technician": target.username if target else None, "before": before.username if before else None})
    uow.session.refresh(card)
    return card


# ---------------------------------------------------------------- the complaint and the findings

def code_complaint(uow: UnitOfWork, actor: User, key: str, *, condition: str, symptom: str,
                   note: str | None = None) -> RepairCard:
    """The customer's complaint as codes: when it shows (condition) and what it is (a symptom, not a group)."""
    card, visit = working_card(uow, actor, key, action="code complaints")
    missing = [what for what, given in (("condition", condition), ("symptom", symptom)) if not (given or "").strip()]
    if missing:
        raise DomainError("code_required", "the complaint needs its {what} code", what=missing[0])
    cond = code_lists.get_code(uow, CodeKind.CONDITION, condition)
    sym = code_lists.get_code(uow, CodeKind.SYMPTOM, symptom)
    children = list(uow.session.scalars(select(BenchCode.code).where(
        BenchCode.kind == CodeKind.SYMPTOM, BenchCode.parent == sym.code, BenchCode.active).order_by(BenchCode.code)))
    if children:
        raise DomainError("symptom_too_general", "symptom {code} is a group; pick one of its symptoms: {codes}",
                          code=sym.code, codes=", ".join(children))
    note = _note(note, "complaint note")
    for c in (cond, sym):
        if c.needs_note and not note:
            raise DomainError("note_required", "{code} “{words}” needs a note saying what it is", code=c.code,
                              words=c.text_en)
    if (card.condition_code, card.symptom_code, card.complaint_note) == (cond.code, sym.code, note):
        return card
    refiled = _refile(uow, actor, visit, sym.code) if card.symptom_code not in (None, sym.code) else 0
    card.condition_code, card.symptom_code, card.complaint_note = cond.code, sym.code, note
    _touch(uow, card, visit)
    group = code_lists.find_code(uow, CodeKind.SYMPTOM, sym.parent) if sym.parent else None
    record_visit_event(uow, visit, actor, "complaint_coded", details={
        **_code_details("condition", cond), **_code_details("symptom", sym), **_code_details("group", group),
        "note": note, **({"refiled": refiled} if refiled else {})})
    return card


def _copy(f: Finding, actor: User, at: Any, **changes: Any) -> Finding:
    fields = {"visit_id": f.visit_id, "model_id": f.model_id, "symptom_code": f.symptom_code, "sign": f.sign,
              "corrects_id": None, "nff": f.nff, "section_code": f.section_code, "designator": f.designator,
              "defect_code": f.defect_code, "repair_code": f.repair_code, "note": f.note,
              "technician_id": actor.id, "at": at}
    return Finding(**{**fields, **changes})


def _refile(uow: UnitOfWork, actor: User, visit: Visit, symptom: str) -> int:
    """A recoded complaint: each standing finding is reversed under the old symptom and recorded again
    under the new one (the ledger keeps both), so that what was found counts under what it was."""
    standing = active_findings(uow, visit.id)
    for f in standing:
        uow.session.add(_copy(f, actor, uow.now(), sign=-1, corrects_id=f.id))
        uow.session.add(_copy(f, actor, uow.now(), symptom_code=symptom, technician_id=f.technician_id))
    uow.session.flush()
    return len(standing)


def finding_dict(f: Finding, words: dict[tuple[CodeKind, str], BenchCode] | None = None) -> dict[str, Any]:
    def code(kind: CodeKind, value: str | None) -> dict[str, Any] | None:
        if value is None:
            return None
        c = (words or {}).get((kind, value))
        return {"code": value, "en": c.text_en if c else value, "zh": c.text_zh if c else value}

    return {"id": f.id, "nff": f.nff, "section": code(CodeKind.SECTION, f.section_code), "designator": f.designator,
            "defect": code(CodeKind.DEFECT, f.defect_code), "repair": code(CodeKind.REPAIR, f.repair_code),
            "note": f.note, "technician": f.technician.username, "technician_name": person_name(f.technician),
            "at": f.at.isoformat()}


def code_words(uow: UnitOfWork, findings: list[Finding]) -> dict[tuple[CodeKind, str], BenchCode]:
    """Every code the findings use, in one query."""
    wanted = {(k, v) for f in findings for k, v in ((CodeKind.SECTION, f.section_code),
                                                    (CodeKind.DEFECT, f.defect_code),
                                                    (CodeKind.REPAIR, f.repair_code)) if v}
    if not wanted:
        return {}
    found = uow.session.scalars(select(BenchCode).where(BenchCode.code.in_({v for _, v in wanted})))
    return {(c.kind, c.code): c for c in found if (c.kind, c.code) in wanted}


def add_finding(uow: UnitOfWork, actor: User, key: str, *, section: str | None = None,
                designator: str | None = None, defect: str | None = None, repair: str | None = None,
                note: str | None = None, nff: bool = False) -> dict[str, Any]:
    """A finding: section, designator (its form only), defect (allowed for the section) and repair;
    a code marked "other" needs a note. No fault found is a finding of its own, alone on the card.

    The same finding entered twice (a double Enter) is recorded once.
    """
    card, visit = working_card(uow, actor, key, action="record findings")
    if card.symptom_code is None:
        raise DomainError("complaint_required", "code the complaint (condition and symptom) of {tag} before its "
                          "findings", tag=visit.tag)
    note = _note(note, "finding note")
    active = active_findings(uow, visit.id)
    off_board = False
    if nff:
        if any((section, designator, defect, repair)):
            raise DomainError("nff_with_codes", "no fault found has no section, designator, defect or repair")
        if any(not f.nff for f in active):
            raise DomainError("nff_conflict", "visit {tag} has findings: withdraw them before recording no fault found",
                              tag=visit.tag)
        same = next((f for f in active if f.nff), None)
        if same is not None:
            return finding_dict(same)
        sec = dfc = rep = None
    else:
        if any(f.nff for f in active):
            raise DomainError("nff_conflict", "visit {tag} has no fault found recorded: withdraw it before recording "
                              "a fault", tag=visit.tag)
        missing = [what for what, given in (("section", section), ("defect", defect), ("repair", repair))
                   if not (given or "").strip()]
        if missing:
            raise DomainError("code_required", "a finding needs its {what} code", what=missing[0])
        sec = code_lists.get_code(uow, CodeKind.SECTION, section)
        dfc = code_lists.get_code(uow, CodeKind.DEFECT, defect)
        rep = code_lists.get_code(uow, CodeKind.REPAIR, repair)
        if dfc.sections and sec.code not in dfc.sections:
            raise DomainError("defect_not_for_section", "defect {defect} “{words}” is not found in section {section}; "
                              "it is found in: {allowed}", defect=dfc.code, words=dfc.text_en, section=sec.code,
                              allowed=", ".join(dfc.sections))
        designator = clean_designator(designator)
        for c in (sec, dfc, rep):
            if c.needs_note and not note:
                raise DomainError("note_required", "{code} “{words}” needs a note saying what it is", code=c.code,
                                  words=c.text_en)
        off_board = not bench_parts.check_designator(uow, visit, designator, note)
        same = next((f for f in active if (f.section_code, f.designator, f.defect_code, f.repair_code)
                     == (sec.code, designator, dfc.code, rep.code)), None)
        if same is not None:
            return finding_dict(same, code_words(uow, [same]))
    finding = Finding(visit_id=visit.id, model_id=card.model_id, symptom_code=card.symptom_code, sign=1, nff=nff,
                      section_code=sec.code if sec else None,
                      designator=designator if not nff else None, defect_code=dfc.code if dfc else None,
                      repair_code=rep.code if rep else None, note=note, technician_id=actor.id, at=uow.now())
    uow.session.add(finding)
    uow.session.flush()
    _touch(uow, card, visit)
    record_visit_event(uow, visit, actor, "finding_recorded", details={
        "finding": finding.id, "nff": nff, **_code_details("section", sec), "designator": finding.designator,
        **_code_details("defect", dfc), **_code_details("repair", rep), "note": note,
        **({"not_on_board": True} if off_board else {})})
    return finding_dict(finding, code_words(uow, [finding]))


def withdraw_finding(uow: UnitOfWork, actor: User, key: str, finding_id: int, *, reason: str) -> dict[str, Any]:
    """Take a finding back (a mistake): a reversing row points at it; it no longer counts anywhere."""
    card, visit = working_card(uow, actor, key, action="record findings")
    reason = clean_text(reason, "why it is withdrawn", limit=NOTE_LIMIT, required=True)
    finding = uow.session.get(Finding, finding_id) if known_id(finding_id) else None
    if finding is None or finding.visit_id != visit.id or finding.sign < 0:
        raise DomainError("unknown_finding", "visit {tag} has no finding {finding}", tag=visit.tag, finding=finding_id)
    if all(f.id != finding.id for f in active_findings(uow, visit.id)):
        raise DomainError("finding_withdrawn", "finding {finding} of {tag} was already withdrawn", finding=finding_id,
                          tag=visit.tag)
    words = code_words(uow, [finding])
    uow.session.add(_copy(finding, actor, uow.now(), sign=-1, corrects_id=finding.id, note=reason))
    uow.session.flush()
    _touch(uow, card, visit)
    record_visit_event(uow, visit, actor, "finding_withdrawn", details={
        "finding": finding.id, "nff": finding.nff,
        **_code_details("defect", words.get((CodeKind.DEFECT, finding.defect_code))),
        "designator": finding.designator, "reason": reason})
    return finding_dict(finding, words)


# ---------------------------------------------------------------- interception alerts

def mark_alert(uow: UnitOfWork, actor: User, key: str, alert_id: int, *, note: str, waive: bool = False) -> dict[str, Any]:
    """An interception alert done (what was done), or waived: at once by the lead, or asked of the lead
    by a technician (a waiver request the lead approves or rejects)."""
    card, visit = working_card(uow, actor, key, action="waive interception alerts" if waive
                               else "mark interception alerts done", states=ON_BENCH,
                               roles=(*BENCH_WORKERS, Role.SUPERVISOR))
    if not waive or actor.roles & set(intake.ALERT_WAIVERS):
        return intake.resolve_alert(uow, actor, visit.tag, alert_id, note=note, waive=waive)
    note = clean_text(note, "why it is waived", limit=intake.SYSTEM_NOTE_MAX, required=True)
    alert = _open_alert(uow, visit, alert_id)
    if _pending(uow, visit.id, RequestKind.WAIVER, alert_id):
        raise DomainError("request_pending", "visit {tag} already waits for the lead's approval: {what}",
                          tag=visit.tag, what="waiver")
    request = ApprovalRequest(visit_id=visit.id, kind=RequestKind.WAIVER, alert_id=alert_id, reason=note,
                              requested_by_id=actor.id, requested_at=uow.now())
    uow.session.add(request)
    uow.session.flush()
    record_visit_event(uow, visit, actor, "waiver_requested", details={
        "request": request.id, "alert": alert_id, "action": alert["action"], "note": note})
    return {**alert, "status": "waiver_requested", "request": request.id, "note": note, "by": actor.username}


def _open_alert(uow: UnitOfWork, visit: Visit, alert_id: int) -> dict[str, Any]:
    current = next((a for a in intake.alert_states(uow, visit) if a["id"] == alert_id), None)
    if current is None:
        raise DomainError("unknown_alert", "visit {tag} has no interception alert {alert}", tag=visit.tag,
                          alert=alert_id)
    if current["status"] != "open":
        raise DomainError("alert_resolved", "the interception alert {alert} of {tag} was already {status} by {who}",
                          alert=alert_id, tag=visit.tag, status=current["status"], who=current["by"])
    return current


# ---------------------------------------------------------------- human damage and approvals

def _pending(uow: UnitOfWork, visit_id: int, kind: RequestKind | None = None,
             alert_id: int | None = None) -> list[ApprovalRequest]:
    q = select(ApprovalRequest).where(ApprovalRequest.visit_id == visit_id, ApprovalRequest.decided_at.is_(None))
    if kind is not None:
        q = q.where(ApprovalRequest.kind == kind)
    if alert_id is not None:
        q = q.where(ApprovalRequest.alert_id == alert_id)
    return list(uow.session.scalars(q.order_by(ApprovalRequest.id)))


def parse_damage(value: str) -> Damage:
    try:
        return Damage((value or "").strip().lower())
    except ValueError:
        raise DomainError("unknown_damage", "no kind of damage {damage!r}; kinds: {known}", damage=(value or "")[:40],
                          known=", ".join(d.value for d in Damage)) from None


def damage_confirmed(uow: UnitOfWork, visit_id: int) -> ApprovalRequest | None:
    return uow.session.scalar(select(ApprovalRequest).where(
        ApprovalRequest.visit_id == visit_id, ApprovalRequest.kind == RequestKind.DAMAGE,
        ApprovalRequest.approved.is_(True)).order_by(ApprovalRequest.id.desc()).limit(1))


def report_damage(uow: UnitOfWork, actor: User, key: str, *, damage: str, reason: str) -> dict[str, Any]:
    """Human damage (人为损坏): the technician says what and why, with photos of it; the lead confirms,
    and only then is the unit out of warranty."""
    card, visit = working_card(uow, actor, key, action="report human damage")
    kind = parse_damage(damage)
    reason = clean_text(reason, "what the damage is", limit=NOTE_LIMIT, multiline=True, required=True)
    photos = uow.session.scalar(select(func.count()).select_from(BenchPhoto).where(
        BenchPhoto.visit_id == visit.id, BenchPhoto.purpose == "damage")) or 0
    if not photos:
        raise DomainError("photo_required", "human damage needs at least one photo of it; add the photos first")
    if _pending(uow, visit.id, RequestKind.DAMAGE):
        raise DomainError("request_pending", "visit {tag} already waits for the lead's approval: {what}",
                          tag=visit.tag, what="human damage")
    if damage_confirmed(uow, visit.id) is not None:
        raise DomainError("damage_confirmed", "the human damage of {tag} was already confirmed", tag=visit.tag)
    request = ApprovalRequest(visit_id=visit.id, kind=RequestKind.DAMAGE, damage=kind, reason=reason,
                              requested_by_id=actor.id, requested_at=uow.now())
    uow.session.add(request)
    uow.session.flush()
    _touch(uow, card, visit)
    record_visit_event(uow, visit, actor, "damage_reported", details={
        "request": request.id, "damage_kind": kind.value, "reason": reason, "photos": photos})
    return request_dict(uow, request)


def request_dict(uow: UnitOfWork, r: ApprovalRequest) -> dict[str, Any]:
    visit = uow.session.get(Visit, r.visit_id)
    alert = None
    if r.alert_id is not None:
        from rma.intake.models import VisitAlert

        a = uow.session.get(VisitAlert, r.alert_id)
        alert = {"id": a.id, "action": a.action} if a else None
    return {"id": r.id, "tag": visit.tag, "kind": r.kind.value, "damage": r.damage.value if r.damage else None,
            "alert": alert, "reason": r.reason, "requested_by": r.requested_by.username,
            "requested_by_name": person_name(r.requested_by), "requested_at": r.requested_at.isoformat(),
            "status": "pending" if r.decided_at is None else ("approved" if r.approved else "rejected"),
            "decided_by": r.decided_by.username if r.decided_by else None,
            "decided_at": r.decided_at.isoformat() if r.decided_at else None, "note": r.decision_note}


def list_requests(uow: UnitOfWork, *, pending_only: bool = True, tag: str | None = None) -> list[dict[str, Any]]:
    q = select(ApprovalRequest).order_by(ApprovalRequest.requested_at, ApprovalRequest.id)
    if pending_only:
        q = q.where(ApprovalRequest.decided_at.is_(None))
    if tag:
        q = q.where(ApprovalRequest.visit_id == visit_of(uow, tag).id)
    return [request_dict(uow, r) for r in uow.session.scalars(q)]


def decide_request(uow: UnitOfWork, actor: User, request_id: int, *, approve: bool,
                   note: str | None = None) -> dict[str, Any]:
    """The lead approves or rejects what a technician asked for: human damage (the unit goes out
    of warranty), scrap (the unit is scrapped) or a waiver (the alert is waived). A rejection says why."""
    require_role(actor, *APPROVERS, action="approve bench requests")
    note = clean_text(note, "the lead's note", limit=NOTE_LIMIT, multiline=True, required=not approve)
    request = uow.session.get(ApprovalRequest, request_id) if known_id(request_id) else None
    if request is None:
        raise DomainError("unknown_request", "no bench request {request}", request=request_id)
    if request.decided_at is not None:
        raise DomainError("request_decided", "request {request} was already {status} by {who}", request=request_id,
                          status="approved" if request.approved else "rejected", who=request.decided_by.username)
    visit = uow.session.get(Visit, request.visit_id)
    if visit.closed_at is not None or visit.state not in ON_BENCH:
        raise _not_on_bench(visit)
    request.decided_by_id, request.decided_at, request.approved, request.decision_note = \
        actor.id, uow.now(), approve, note
    try:
        uow.session.flush()
    except StaleDataError:
        raise DomainError("concurrent_change", "visit {tag} was changed by someone else at the same moment; "
                          "look at it again and retry", tag=visit.tag) from None
    uow.session.refresh(request)
    details = {"request": request.id, "note": note, "requested_by": request.requested_by.username}
    if request.kind is RequestKind.DAMAGE:
        if approve:
            record = uow.session.get(IntakeRecord, visit.id)
            was = record.warranty.value if record else None
            if record is not None:
                record.warranty = Warranty.OUT
            record_visit_event(uow, visit, actor, "damage_confirmed", details={
                **details, "damage_kind": request.damage.value if request.damage else None, "reason": request.reason,
                "warranty": "out", "was": was})
        else:
            record_visit_event(uow, visit, actor, "damage_rejected", details={
                **details, "damage_kind": request.damage.value if request.damage else None})
    elif request.kind is RequestKind.SCRAP:
        if approve:
            card = ensure_card(uow, visit)
            _leave(uow, actor, visit, card, "scrap", {"reason": request.reason, **details}, skip_request=request.id)
        else:
            record_visit_event(uow, visit, actor, "scrap_rejected", details={**details, "reason": request.reason})
    else:
        if approve:
            intake.resolve_alert(uow, actor, visit.tag, request.alert_id, note=note or request.reason, waive=True)
        else:
            from rma.intake.models import VisitAlert

            alert = uow.session.get(VisitAlert, request.alert_id)
            record_visit_event(uow, visit, actor, "waiver_rejected", details={
                **details, "alert": request.alert_id, "action": alert.action if alert else None})
    return request_dict(uow, request)


# ---------------------------------------------------------------- leaving the bench

def _running(uow: UnitOfWork, visit_id: int) -> list[LabourSession]:
    return list(uow.session.scalars(select(LabourSession).where(
        LabourSession.visit_id == visit_id, LabourSession.ended_at.is_(None)).order_by(LabourSession.id)))


def _labour_minutes(uow: UnitOfWork, visit_id: int) -> int:
    sessions = uow.session.scalars(select(LabourSession).where(LabourSession.visit_id == visit_id))
    now = uow.now()
    return round(sum(((s.ended_at or now) - s.started_at).total_seconds() for s in sessions) / 60)


def _leave(uow: UnitOfWork, actor: User, visit: Visit, card: RepairCard, decision: str, details: dict[str, Any],
           *, skip_request: int | None = None) -> None:
    """The move off the bench, with what every decision needs."""
    to_state, event = DECISIONS[decision]
    findings = active_findings(uow, visit.id)
    if not findings:
        raise DomainError("no_finding", "visit {tag} has no finding: record what was found (or no fault found) "
                          "before deciding", tag=visit.tag)
    bench_parts.check_fits_have_findings(uow, visit)
    waiting = [r for r in _pending(uow, visit.id) if r.id != skip_request]
    if waiting:
        raise DomainError("request_pending", "visit {tag} already waits for the lead's approval: {what}",
                          tag=visit.tag, what=REQUEST_WORDS[waiting[0].kind])
    if to_state in (S.AWAITING_TEST, S.PROGRAMMING):
        # A firmware interception may go to programming open: the reflash that leaves the plan's
        # firmware behind marks it done by itself (and a failed one sends the unit back here).
        still = [a for a in intake.open_alerts(uow, visit)
                 if not (to_state is S.PROGRAMMING and a["kind"] == InterceptionKind.FIRMWARE.value)]
        if still:
            raise DomainError("alert_open", "visit {tag} cannot leave for test or programming: the interception "
                              "{actions} is neither done nor waived", tag=visit.tag,
                              actions="; ".join(a["action"] for a in still))
    others = [s for s in _running(uow, visit.id) if s.technician_id != actor.id]
    if others:
        raise DomainError("labour_running", "visit {tag}: the labour of {name} is still running; stop it first",
                          tag=visit.tag, name=", ".join(person_name(s.technician) for s in others))
    for own in _running(uow, visit.id):
        own.ended_at, own.end_kind = uow.now(), "decision"
    card.decision, card.decided_at, card.decided_by_id = decision, uow.now(), actor.id
    _touch(uow, card, visit)
    nff = any(f.nff for f in findings)
    transition(uow, actor, visit, to_state, event=event, details={
        "findings": len(findings), "nff": nff, "labour_minutes": _labour_minutes(uow, visit.id), **details})


def decide(uow: UnitOfWork, actor: User, key: str, decision: str, *, reason: str | None = None) -> dict[str, Any]:
    """To test, to programming, scrap (a technician asks; the lead approves) or return unrepaired (with why)."""
    decision = (decision or "").strip().lower()
    if decision not in DECISIONS:
        raise DomainError("unknown_decision", "no decision {decision!r}; decisions: {known}", decision=decision[:20],
                          known=", ".join(DECISIONS))
    states = (S.IN_REPAIR,) if decision in ("test", "programming") else WORKING
    card, visit = working_card(uow, actor, key, action="decide on repairs", states=states)
    needs_reason = decision in ("scrap", "return")
    reason = clean_text(reason, "reason", limit=NOTE_LIMIT, multiline=True, required=needs_reason)
    if decision == "scrap" and not actor.roles & set(APPROVERS):
        if not active_findings(uow, visit.id):
            raise DomainError("no_finding", "visit {tag} has no finding: record what was found (or no fault found) "
                              "before deciding", tag=visit.tag)
        if _pending(uow, visit.id, RequestKind.SCRAP):
            raise DomainError("request_pending", "visit {tag} already waits for the lead's approval: {what}",
                              tag=visit.tag, what="scrap")
        for own in _running(uow, visit.id):  # the proposal ends the proposer's work on it, as a decision does
            if own.technician_id == actor.id:
                own.ended_at, own.end_kind = uow.now(), "decision"
        request = ApprovalRequest(visit_id=visit.id, kind=RequestKind.SCRAP, reason=reason, requested_by_id=actor.id,
                                  requested_at=uow.now())
        uow.session.add(request)
        uow.session.flush()
        record_visit_event(uow, visit, actor, "scrap_proposed", details={"request": request.id, "reason": reason})
        return {"tag": visit.tag, "decision": decision, "state": visit.state.value, "pending": True,
                "request": request.id}
    details: dict[str, Any] = {"reason": reason} if reason else {}
    if decision == "return":
        confirmed = damage_confirmed(uow, visit.id)
        if confirmed is not None:
            details.update({"damage_kind": confirmed.damage.value if confirmed.damage else None, "warranty": "out"})
    _leave(uow, actor, visit, card, decision, details)
    return {"tag": visit.tag, "decision": decision, "state": visit.state.value, "pending": False, "request": None}
