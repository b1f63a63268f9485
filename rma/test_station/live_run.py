"""A run in progress between its worker thread and the page that shows it.

``services.execute_run`` blocks on serial I/O, so it runs in its own thread; every event it
emits is handed to the page's event loop through ``call_soon_threadsafe`` into an asyncio
queue, and the page is touched only from the loop. A prompt or the checklist is answered
through a ``concurrent.futures.Future`` the worker waits on; aborting resolves it with None.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from dataclasses import dataclass
from typing import Any

from drivers.fixture import SerialFixture
from rma.errors import DomainError
from rma.test_station import services
from rma.test_station.plans import Step
from rma.ui import runtime

log = logging.getLogger(__name__)


def begin(actor_name: str, key: str, port: str, incoming: bool) -> tuple[SerialFixture, services.RunStarted]:
    """The fixture's driver (a malformed port is refused before anything is written), then the run.

    ``key`` is what the tester scanned: a tag, or a serial (the service finds its open visit).
    """
    try:
        fixture = SerialFixture(port)
    except (ValueError, OSError) as exc:
        raise DomainError("bad_fixture_port", "the fixture port {port!r} is not usable: {reason}",
                          port=port, reason=str(exc)) from None
    return fixture, services.start_run(runtime.database(), actor_name, key, port=port, incoming=incoming)


@dataclass
class PromptRequest:
    step: Step
    answer: concurrent.futures.Future


@dataclass
class ChecklistRequest:
    items: list[str]
    answer: concurrent.futures.Future


@dataclass
class WorkerDied:
    error: str


class LiveRun:
    """One run in progress: the worker thread's side (emit, ask, check) and the page's (answer, stop)."""

    def __init__(self, started: services.RunStarted, loop: asyncio.AbstractEventLoop) -> None:
        self.started = started
        self.loop = loop
        self.events: asyncio.Queue[Any] = asyncio.Queue()
        self.abort = threading.Event()
        self._pending: set[concurrent.futures.Future] = set()
        self._lock = threading.Lock()

    # -- in the worker thread
    def emit(self, event: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(self.events.put_nowait, event)
        except RuntimeError:
            pass  # the server is stopping: nobody listens any more; the ledger still gets the run

    def ask(self, step: Step) -> str | None:
        return self._wait(PromptRequest(step, concurrent.futures.Future()))

    def check(self, items: list[str]) -> dict[str, bool] | None:
        return self._wait(ChecklistRequest(list(items), concurrent.futures.Future()))

    def _wait(self, request: PromptRequest | ChecklistRequest) -> Any:
        future = request.answer
        with self._lock:
            self._pending.add(future)
        try:
            if self.abort.is_set():
                return None
            self.emit(request)
            while True:
                try:
                    return future.result(timeout=0.2)
                except concurrent.futures.TimeoutError:
                    if self.abort.is_set():
                        return None
                except concurrent.futures.CancelledError:
                    return None
        finally:
            with self._lock:
                self._pending.discard(future)

    # -- on the event loop
    @staticmethod
    def answer(future: concurrent.futures.Future, value: Any) -> None:
        if not future.done():
            future.set_result(value)

    def stop(self) -> None:
        self.abort.set()
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            self.answer(future, None)


def work(live: LiveRun, fixture: SerialFixture) -> None:
    """The worker thread: the whole run, blocking serial work included; every end reaches the page."""
    try:
        services.execute_run(runtime.database(), live.started, fixture, answer=live.ask, checklist=live.check,
                             on_event=live.emit, abort=live.abort)
    except BaseException as exc:  # noqa: BLE001 - the page must hear of any end, or it waits forever
        log.exception("test run %s stopped unexpectedly", live.started.run_id)
        live.emit(WorkerDied(f"{type(exc).__name__}: {exc}"))
