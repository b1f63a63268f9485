"""What the running web app shares: its database, and the way pages run database work.

Database work never runs on the event loop: ``read`` and ``act`` run one unit of work in
``run.io_bound`` (a worker thread) and hand back plain values.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from nicegui import run

from rma import config
from rma.core import services
from rma.core.models import User
from rma.db import Database, UnitOfWork
from rma.errors import DomainError

T = TypeVar("T")

_database: Database | None = None


def set_database(db: Database) -> None:
    global _database
    _database = db


def database() -> Database:
    if _database is None:
        raise RuntimeError("the web app has no database: start it with rma.ui.app.serve()")
    return _database


async def read(work: Callable[[UnitOfWork], T]) -> T:
    """Run ``work(uow)`` in a read-only unit of work, off the event loop."""

    def run_it() -> T:
        with database().uow(readonly=True) as uow:
            return work(uow)

    return await run.io_bound(run_it)


async def act(user_id: int, auth_version: int, last_seen: float, work: Callable[[UnitOfWork, User], T]) -> T:
    """Run ``work(uow, actor)`` as the signed-in user in one unit of work, off the event loop.

    The actor is loaded inside the same unit of work. A session idle for too long, or whose
    user was disabled or had their password or roles changed since login, is refused.
    """

    def run_it() -> T:
        if time.time() - last_seen > config.station_settings().session_idle_hours * 3600:
            raise DomainError("session_expired", "Your session has expired; please log in again.")
        with database().uow() as uow:
            actor = services.get_user_by_id(uow, user_id)
            if actor is None or not actor.active or actor.auth_version != auth_version:
                raise DomainError("session_ended", "Your session has ended; please log in again.")
            return work(uow, actor)

    return await run.io_bound(run_it)
