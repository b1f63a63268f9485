"""A reflash in progress between its worker thread and the page that shows it.

``services.execute`` blocks on serial I/O, so it runs in a thread of its own; each event it
emits goes to the page's event loop through ``call_soon_threadsafe`` into an asyncio queue,
and the page is touched only from the loop. Stopping sets an event the attempt looks at after
every block.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Any

from rma.programming import services
from rma.ui import runtime

log = logging.getLogger(__name__)


def begin(actor_name: str, key: str, port: str, socket: int) -> tuple[services.ProgrammerLike, services.ReflashPlan]:
    """The programmer's driver (a malformed port is refused before anything is written), then the locked plan."""
    port, socket = services.clean_port(port), services.check_socket(socket)
    programmer = services.open_programmer(port)
    try:
        return programmer, services.prepare(runtime.database(), actor_name, key, port=port, socket=socket)
    except BaseException:
        programmer.close()
        raise


@dataclass
class WorkerDied:
    error: str


class LiveReflash:
    def __init__(self, plan: services.ReflashPlan, loop: asyncio.AbstractEventLoop) -> None:
        self.plan = plan
        self.loop = loop
        self.events: asyncio.Queue[Any] = asyncio.Queue()
        self.abort = threading.Event()

    def emit(self, event: Any) -> None:  # in the worker thread
        try:
            self.loop.call_soon_threadsafe(self.events.put_nowait, event)
        except RuntimeError:
            pass  # the server is stopping: nobody listens; the ledger still gets the attempt


def work(live: LiveReflash, programmer: services.ProgrammerLike) -> None:
    """The worker thread: the whole attempt; every end reaches the page."""
    try:
        services.execute(runtime.database(), live.plan, programmer, on_event=live.emit, abort=live.abort)
    except BaseException as exc:  # noqa: BLE001 - the page must hear of any end, or it waits forever
        log.exception("the reflash of %s stopped unexpectedly", live.plan.tag)
        live.emit(WorkerDied(f"{type(exc).__name__}: {exc}"))
