"""The bench's invariants for ``rma check``, each one set-based query returning only what breaks it.

- No visit left the bench for test or programming with an interception alert neither done nor
  waived (by the returns ledger: the alert's resolution must come before the move).
- Every visit the bench decided on (to test, to programming, scrapped, returned unrepaired from
  repair) had at least one finding standing at that moment.
- No labour session was still running when its visit left the bench: none runs on a visit no
  longer in repair, and none ran on after the bench's decision.

- Every part fitted in a unit was issued to its tag: the stores' own check (``stock_not_issued``,
  rma/inventory/checks.py) finds a tag that ever held less than nothing of a part at the bench;
  this one finds what that cannot see, a fit booked for a tag from anywhere but the bench (straight
  from a bin, never issued to the tag), or a fit booked for no tag at all.

Findings are a sealed ledger: ``rma check`` verifies their seals with every other ledger's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import and_, exists, func, literal_column, or_, select
from sqlalchemy.orm import aliased

from rma.bench.models import Finding, LabourSession, RepairCard
from rma.bench.services import DECISION_EVENTS, WORKING
from rma.core.checks import (
    CLOCK_SLACK,
    Violation,
    VisitPassPart,
    register_check,
    register_visit_pass,
)
from rma.core.models import ReturnsLedgerEntry, Visit
from rma.core.states import VisitState
from rma.db import UnitOfWork
from rma.intake.models import Interception, InterceptionKind, VisitAlert
from rma.intake.services import ALERT_DONE, ALERT_WAIVED
from rma.inventory.models import (
    VIRTUAL_CODES,
    LocationKind,
    MoveKind,
    Part,
    StockLocation,
    StockMove,
)


def _later(uow: UnitOfWork, at: Any) -> Any:
    """``at`` plus the clock slack ``rma check`` allows between stations, in the database's own terms."""
    if uow.session.get_bind().dialect.name == "sqlite":  # naive UTC text: its datetime() compares as text
        return func.datetime(at, f"+{int(CLOCK_SLACK.total_seconds())} seconds")
    return at + literal_column(f"interval '{int(CLOCK_SLACK.total_seconds())} seconds'")


@register_check
def check_alerts_before_leaving(uow: UnitOfWork) -> Iterator[Violation]:
    move, resolved = aliased(ReturnsLedgerEntry), aliased(ReturnsLedgerEntry)
    q = (select(move.id, Visit.tag, VisitAlert.id, VisitAlert.action, move.to_state)
         .select_from(VisitAlert)
         .join(move, move.visit_id == VisitAlert.visit_id)
         .join(Visit, Visit.id == VisitAlert.visit_id)
         .join(Interception, Interception.id == VisitAlert.interception_id)
         .where(move.from_state == VisitState.IN_REPAIR,
                or_(move.to_state == VisitState.AWAITING_TEST,
                    # a firmware interception goes to programming open: the reflash clears it
                    and_(move.to_state == VisitState.PROGRAMMING, Interception.kind != InterceptionKind.FIRMWARE)),
                ~exists().where(resolved.visit_id == VisitAlert.visit_id,
                                resolved.event.in_((ALERT_DONE, ALERT_WAIVED)),
                                resolved.details["alert"].as_integer() == VisitAlert.id,
                                resolved.id < move.id))
         .order_by(move.id))
    for entry_id, tag, alert_id, action, to_state in uow.session.execute(q):
        yield Violation("bench_left_with_open_alert", tag,
                        f"visit {tag} left the bench for {to_state.value} (entry {entry_id}) while its interception "
                        f"alert {alert_id} ({action}) was neither done nor waived", "returns_ledger", (entry_id,))


def _decisions_without_findings(uow: UnitOfWork, visit_id: int, tag: str) -> Iterator[Violation]:
    """A decision from the bench with no finding standing at its time (recorded by then, not
    withdrawn by then), on one visit the returns pass flagged."""
    decision, withdrawal = aliased(ReturnsLedgerEntry), aliased(Finding)
    withdrawn = (select(withdrawal.id).where(withdrawal.visit_id == Finding.visit_id,
                                              withdrawal.corrects_id == Finding.id, withdrawal.at <= decision.at)
                 .correlate_except(withdrawal).exists())
    standing = (select(Finding.id).where(Finding.visit_id == decision.visit_id, Finding.sign > 0,
                                         Finding.at <= _later(uow, decision.at), ~withdrawn)
                .correlate_except(Finding).exists())
    for entry_id, event in uow.session.execute(
            select(decision.id, decision.event)
            .where(decision.visit_id == visit_id, decision.event.in_(DECISION_EVENTS),
                   decision.from_state.in_(WORKING), ~standing)
            .order_by(decision.id)):
        yield Violation("bench_decided_without_finding", tag,
                        f"visit {tag} was decided ({event}, entry {entry_id}) without any finding", "returns_ledger",
                        (entry_id,))


def _quoted(values: Any) -> str:
    return ", ".join(f"'{getattr(v, 'value', v)}'" for v in values)


def _slack(dialect: str, at: str) -> str:
    seconds = int(CLOCK_SLACK.total_seconds())
    return f"datetime({at}, '+{seconds} seconds')" if dialect == "sqlite" else f"{at} + interval '{seconds} seconds'"


# Judged in the returns pass (no second scan of the ledger): a visit is looked at again only if
# its first decision came before its first finding (or with none), or it withdrew a finding.
register_visit_pass(VisitPassPart(
    "bench decisions",
    lambda dialect: [f"min(CASE WHEN event IN ({_quoted(DECISION_EVENTS)}) AND from_state IN ({_quoted(WORKING)}) "
                     "THEN at END) AS bench_decided"],
    lambda dialect: (f"g.bench_decided IS NOT NULL AND (bf.first_found IS NULL OR bf.withdrawals > 0 "
                     f"OR bf.first_found > {_slack(dialect, 'g.bench_decided')})"),
    _decisions_without_findings,
    lambda dialect: ("LEFT JOIN (SELECT visit_id, min(CASE WHEN sign > 0 THEN at END) AS first_found, "
                     "sum(CASE WHEN sign < 0 THEN 1 ELSE 0 END) AS withdrawals FROM bench_findings "
                     "WHERE visit_id >= :lo AND visit_id < :hi GROUP BY visit_id) bf ON bf.visit_id = g.visit_id")))


@register_check
def check_labour_closed_when_leaving(uow: UnitOfWork) -> Iterator[Violation]:
    """A session still running on a visit that left the bench (read through the partial index of
    running sessions), and a session that ran on after the bench decided on its visit."""
    running = (select(LabourSession.id, Visit.tag, Visit.state)
               .join(Visit, Visit.id == LabourSession.visit_id)
               .where(LabourSession.ended_at.is_(None), Visit.state.not_in(WORKING))
               .order_by(LabourSession.id))
    seen: set[int] = set()
    for session_id, tag, state in uow.session.execute(running):
        seen.add(session_id)
        yield Violation("bench_labour_after_leaving", tag,
                        f"labour session {session_id} on {tag} is still running although the visit is {state.value}")
    late = (select(LabourSession.id, Visit.tag, RepairCard.decision, RepairCard.decided_at)
            .select_from(RepairCard)
            .join(LabourSession, LabourSession.visit_id == RepairCard.visit_id)
            .join(Visit, Visit.id == RepairCard.visit_id)
            .where(RepairCard.decided_at.is_not(None), LabourSession.started_at <= RepairCard.decided_at,
                   or_(LabourSession.ended_at.is_(None),
                       LabourSession.ended_at > _later(uow, RepairCard.decided_at)))
            .order_by(LabourSession.id))
    for session_id, tag, decision, decided_at in uow.session.execute(late):
        if session_id in seen:
            continue
        yield Violation("bench_labour_after_leaving", tag,
                        f"labour session {session_id} on {tag} was still running when the bench decided "
                        f"({decision}, {decided_at.isoformat()})")


@register_check
def check_fits_were_issued(uow: UnitOfWork) -> Iterator[Violation]:
    """A fit (not a correction) that does not take the part from the tag's holding at the bench."""
    bench = uow.session.scalar(select(StockLocation.id).where(StockLocation.code == VIRTUAL_CODES[LocationKind.BENCH]))
    m = StockMove
    q = (select(m.id, Visit.tag, Part.part_number, m.designator)
         .join(Part, Part.id == m.part_id).outerjoin(Visit, Visit.id == m.visit_id)
         .where(m.kind == MoveKind.FIT.value, m.corrects_id.is_(None),
                or_(m.visit_id.is_(None), m.from_id != (bench or 0)))
         .order_by(m.id))
    for move_id, tag, part, designator in uow.session.execute(q):
        yield Violation("bench_fit_not_issued", f"{tag or '-'} {part}",
                        f"move {move_id} fits {part} at {designator or '-'} in {tag or 'no tag'} without taking it "
                        f"from what was issued to {'that tag' if tag else 'a tag'} at the bench", "stock_moves",
                        (move_id,))
