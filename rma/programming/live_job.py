"""A job running between its worker thread and the page that shows it.

``job_runner.run_job`` blocks on serial I/O, so it runs in a thread of its own; each event it
emits goes to the page's event loop through ``call_soon_threadsafe``. Between rounds the worker
waits for the operator (Enter on the page: ``go()``) or the stop (Esc: ``stop()``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Any

from rma.errors import DomainError
from rma.programming import job_runner
from rma.ui import runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WaitingForRound:
    round: int  # the round just done


@dataclass(frozen=True)
class WorkerDied:
    error: str
    refused: DomainError | None = None  # refused before anything started (another station, a changed file, …)


class LiveJob:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.events: asyncio.Queue[Any] = asyncio.Queue()
        self.abort = threading.Event()
        self._go = threading.Event()

    def emit(self, event: Any) -> None:  # in the worker thread
        try:
            self.loop.call_soon_threadsafe(self.events.put_nowait, event)
        except RuntimeError:
            pass  # the server is stopping; the ledger still has every attempt

    def next_round(self, n: int) -> bool:  # in the worker thread
        self._go.clear()
        self.emit(WaitingForRound(n))
        while not self._go.wait(0.2):
            if self.abort.is_set():
                return False
        return not self.abort.is_set()

    def go(self) -> None:
        self._go.set()

    def stop(self) -> None:
        self.abort.set()
        self._go.set()


def work(live: LiveJob, actor: str, key: str, port: str, resume: bool) -> None:
    """The worker thread: the whole run; every end reaches the page."""
    try:
        job_runner.run_job(runtime.database(), actor, key, port=port, resume=resume, on_event=live.emit,
                           abort=live.abort, next_round=live.next_round)
    except DomainError as exc:
        live.emit(WorkerDied(exc.message, exc))
    except BaseException as exc:  # noqa: BLE001 - the page must hear of any end, or it waits forever
        log.exception("job %s stopped unexpectedly", key)
        live.emit(WorkerDied(f"{type(exc).__name__}: {exc}"))
