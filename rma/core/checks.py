"""``rma check``: every ledger invariant known so far, as a list of violations."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from sqlalchemy import func, select, text

from rma.core.models import LEDGER_TABLES, ReturnsLedgerEntry, Visit
from rma.core.states import INITIAL, TERMINAL, can_move
from rma.db import UnitOfWork


@dataclass(frozen=True)
class Violation:
    code: str
    subject: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "subject": self.subject, "message": self.message}


def _guards_present(uow: UnitOfWork) -> set[str]:
    """Ledger tables whose UPDATE and DELETE guards exist in the database."""
    bind = uow.session.get_bind()
    if bind.dialect.name == "sqlite":
        rows = uow.session.execute(text("SELECT tbl_name, name FROM sqlite_master WHERE type='trigger'")).all()
    else:
        rows = uow.session.execute(text(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal"
        )).all()
    names: dict[str, set[str]] = {}
    for table, trigger in rows:
        names.setdefault(table, set()).add(trigger)
    return {t for t in LEDGER_TABLES if {f"{t}_no_update", f"{t}_no_delete"} <= names.get(t, set())}


def check_ledgers(uow: UnitOfWork) -> list[Violation]:
    out: list[Violation] = []
    guarded = _guards_present(uow)
    for table in LEDGER_TABLES:
        if table not in guarded:
            out.append(Violation("ledger_unguarded", table, f"{table} has no append-only guard in the database"))

    visits = {v.id: v for v in uow.session.scalars(select(Visit))}
    entries = uow.session.scalars(select(ReturnsLedgerEntry).order_by(ReturnsLedgerEntry.visit_id, ReturnsLedgerEntry.id))
    seen: set[int] = set()
    ids_by_visit: dict[int, set[int]] = {}
    for visit_id, group in groupby(entries, key=lambda e: e.visit_id):
        rows = list(group)
        seen.add(visit_id)
        ids_by_visit[visit_id] = {e.id for e in rows}
        visit = visits[visit_id]
        first = rows[0]
        if first.event != "opened" or first.from_state is not None or first.to_state != INITIAL:
            out.append(Violation("ledger_bad_start", visit.tag, f"the first event of {visit.tag} is not its opening"))
        state = first.to_state
        last_at = first.at
        for e in rows[1:]:
            if e.at < last_at:
                out.append(Violation("ledger_time_order", visit.tag, f"entry {e.id} of {visit.tag} is dated before the one before it"))
            last_at = max(last_at, e.at)
            if e.to_state is None:
                continue
            if e.from_state != state:
                out.append(Violation("ledger_broken_chain", visit.tag,
                                     f"entry {e.id} of {visit.tag} moves from {e.from_state} but the visit was {state}"))
            elif not can_move(e.from_state, e.to_state):
                out.append(Violation("ledger_illegal_move", visit.tag,
                                     f"entry {e.id} of {visit.tag} moves {e.from_state} -> {e.to_state}, not in the table"))
            state = e.to_state
        if state != visit.state:
            out.append(Violation("state_mismatch", visit.tag,
                                 f"visit {visit.tag} is {visit.state.value} but its ledger ends at {state}"))
        for e in rows:
            if e.corrects_id is not None and e.corrects_id not in ids_by_visit[visit_id]:
                out.append(Violation("ledger_bad_correction", visit.tag,
                                     f"entry {e.id} corrects entry {e.corrects_id} of another visit"))
    for visit in visits.values():
        if visit.id not in seen:
            out.append(Violation("visit_without_ledger", visit.tag, f"visit {visit.tag} has no ledger entry"))
        if (visit.state in TERMINAL) != (visit.closed_at is not None):
            out.append(Violation("closed_mismatch", visit.tag,
                                 f"visit {visit.tag} is {visit.state.value} but closed_at is {visit.closed_at}"))
    doubles = uow.session.execute(
        select(Visit.unit_id, func.count()).where(Visit.closed_at.is_(None)).group_by(Visit.unit_id).having(func.count() > 1)
    ).all()
    for unit_id, n in doubles:
        out.append(Violation("unit_open_twice", str(unit_id), f"unit id {unit_id} has {n} open visits"))
    return out
