"""Labour on a repair card: start, pause, stop, per technician, as many sessions as it takes.

A technician works on one unit at a time: starting on another unit ends the session that
was running (``switch``), and the database refuses a second running session however two
screens race. Pause and stop both end the running session (pause: a break, start goes on
with a new session; stop: done with it for now). A decision ends the deciding technician's
own session; the lead may stop anyone's (a technician who went home with it running).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from rma.bench.models import LabourSession
from rma.bench.services import person_name, user_named, visit_of, working_card
from rma.core.models import Role, User
from rma.core.services import require_role
from rma.core.states import VisitState
from rma.db import UnitOfWork
from rma.errors import DomainError


def running_session(uow: UnitOfWork, technician_id: int) -> LabourSession | None:
    return uow.session.scalar(select(LabourSession).where(
        LabourSession.technician_id == technician_id, LabourSession.ended_at.is_(None)))


def session_dict(s: LabourSession, now: datetime) -> dict[str, Any]:
    return {"id": s.id, "technician": s.technician.username, "technician_name": person_name(s.technician),
            "started_at": s.started_at.isoformat(), "ended_at": s.ended_at.isoformat() if s.ended_at else None,
            "end": s.end_kind, "seconds": round(((s.ended_at or now) - s.started_at).total_seconds())}


def start(uow: UnitOfWork, actor: User, key: str) -> dict[str, Any]:
    """Start (or go on with) the actor's labour on the visit; a session on another unit ends."""
    _, visit = working_card(uow, actor, key, action="book labour", states=(VisitState.IN_REPAIR,))
    now = uow.now()
    running = running_session(uow, actor.id)
    if running is not None and running.visit_id == visit.id:
        return session_dict(running, now)
    if running is not None:
        running.ended_at, running.end_kind = now, "switch"
    session = LabourSession(visit_id=visit.id, technician_id=actor.id, started_at=now)
    uow.session.add(session)
    try:
        with uow.session.begin_nested():
            uow.session.flush()
    except IntegrityError:
        raise DomainError("concurrent_change", "visit {tag} was changed by someone else at the same moment; "
                          "look at it again and retry", tag=visit.tag) from None
    return session_dict(session, now)


def end(uow: UnitOfWork, actor: User, key: str, *, kind: str = "stop", technician: str | None = None) -> dict[str, Any]:
    """Pause or stop the running session on the visit: the actor's own, or (the lead) another technician's."""
    require_role(actor, Role.TECHNICIAN, Role.LEAD, action="book labour")
    visit = visit_of(uow, key)
    whose = actor
    if technician and technician.strip().lower() != actor.username:
        require_role(actor, Role.LEAD, action="stop another technician's labour")
        whose = user_named(uow, technician)
        if whose is None:
            raise DomainError("unknown_user", "no user named {name}", name=technician[:64])
    session = uow.session.scalar(select(LabourSession).where(
        LabourSession.visit_id == visit.id, LabourSession.technician_id == whose.id,
        LabourSession.ended_at.is_(None)))
    if session is None:
        raise DomainError("labour_not_running", "{name} has no labour running on {tag}", name=person_name(whose),
                          tag=visit.tag)
    session.ended_at, session.end_kind = uow.now(), "pause" if kind == "pause" else "stop"
    uow.session.flush()
    return session_dict(session, uow.now())


def summary(uow: UnitOfWork, visit_id: int) -> dict[str, Any]:
    """The card's labour: every session, the time per technician, and the total (a running one until now)."""
    now = uow.now()
    sessions = [session_dict(s, now) for s in uow.session.scalars(
        select(LabourSession).where(LabourSession.visit_id == visit_id).order_by(LabourSession.started_at,
                                                                                 LabourSession.id))]
    per: dict[str, dict[str, Any]] = {}
    for s in sessions:
        t = per.setdefault(s["technician"], {"technician": s["technician"], "technician_name": s["technician_name"],
                                             "seconds": 0, "running": False})
        t["seconds"] += s["seconds"]
        t["running"] |= s["ended_at"] is None
    return {"total_seconds": sum(s["seconds"] for s in sessions), "technicians": list(per.values()),
            "sessions": sessions}
