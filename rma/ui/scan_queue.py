"""A station's scan queue: every scan is handled strictly in order, one at a time.

A burst of scans is never lost or reordered while an earlier one is being saved, and a question
(which model? close the parcel?) holds the scans behind it until it is answered. The pending
chip says how many are waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from nicegui import background_tasks, ui

from rma.errors import DomainError
from rma.i18n import _, error_message

log = logging.getLogger(__name__)
T = TypeVar("T")


class PendingChip:
    """"Processing 3…": shown only while scans wait."""

    def __init__(self, testid: str) -> None:
        self.label = ui.label().classes(
            "bg-blue-100 text-blue-900 rounded-full px-3 py-1 text-base font-medium"
        ).props(f"data-testid={testid} data-pending=0")
        self.label.set_visibility(False)

    def show(self, n: int) -> None:
        self.label.set_text(_("Processing {n}…").format(n=n))
        self.label.props(f"data-pending={n}")
        self.label.set_visibility(n > 0)


class ScanQueue(Generic[T]):
    """``put`` never waits; ``handle`` runs for one item at a time, inside ``root``.

    A DomainError or a bug while handling an item goes to ``failed(item, message)``: the station
    says it and keeps scanning.
    """

    def __init__(self, root: ui.element, chip: PendingChip, handle: Callable[[T], Awaitable[None]],
                 failed: Callable[[T, str], None], *, name: str) -> None:
        self.root, self.chip, self.handle, self.failed, self.name = root, chip, handle, failed, name
        self.items: asyncio.Queue[T] = asyncio.Queue()
        self.pending = 0

    def start(self) -> asyncio.Task:
        return background_tasks.create(self._work(), name=self.name)

    def put(self, item: T) -> None:
        self.pending += 1
        self.chip.show(self.pending)
        self.items.put_nowait(item)

    async def _work(self) -> None:
        while True:
            item = await self.items.get()
            try:
                with self.root:
                    await self.handle(item)
            except asyncio.CancelledError:
                raise
            except DomainError as exc:  # e.g. the parcel was closed at another station meanwhile
                with self.root:
                    self.failed(item, error_message(exc))
            except Exception as exc:  # a bug must not stop the station: say it, keep scanning
                log.exception("%s: handling %r failed", self.name, item)
                with self.root:
                    self.failed(item, _("Unexpected error: {error}").format(error=exc))
            finally:
                self.pending -= 1
                with self.root:
                    self.chip.show(self.pending)
