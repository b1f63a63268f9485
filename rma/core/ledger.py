"""Writing the append-only ledgers, and the guard that keeps them append-only.

Two guards: the ORM refuses to flush a changed or deleted ledger row (a clear DomainError
in the program), and database triggers (see the migrations) refuse UPDATE and DELETE from
anything else, psql included.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from rma.core import seals  # noqa: F401  (seals every ledger stream a transaction writes)
from rma.core.models import AuditEntry, LedgerRow, ReturnsLedgerEntry, User, Visit
from rma.core.states import VisitState
from rma.db import UnitOfWork
from rma.errors import DomainError


@event.listens_for(Session, "before_flush")
def _refuse_ledger_changes(session: Session, _ctx, _instances) -> None:  # noqa: ANN001
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, LedgerRow) and (obj in session.deleted or session.is_modified(obj)):
            raise DomainError(
                "ledger_append_only",
                "{table} is append-only: entries are never changed or deleted; "
                "record a correcting entry instead",
                table=type(obj).__tablename__,
            )


def record_visit_event(
    uow: UnitOfWork,
    visit: Visit,
    actor: User,
    event_name: str,
    *,
    from_state: VisitState | None = None,
    to_state: VisitState | None = None,
    details: dict[str, Any] | None = None,
    corrects: ReturnsLedgerEntry | None = None,
) -> ReturnsLedgerEntry:
    """The one function that writes the returns ledger, inside the caller's transaction."""
    entry = ReturnsLedgerEntry(
        visit=visit,
        at=uow.now(),
        actor_id=actor.id,
        event=event_name,
        from_state=from_state,
        to_state=to_state,
        details=details or {},
        corrects_id=corrects.id if corrects else None,
    )
    uow.session.add(entry)
    return entry


def record_audit(
    uow: UnitOfWork, actor: User | None, action: str, subject: str, details: dict[str, Any] | None = None
) -> AuditEntry:
    entry = AuditEntry(
        at=uow.now(), actor_id=actor.id if actor else None, action=action, subject=subject,
        details=details or {},
    )
    uow.session.add(entry)
    return entry
