"""What the logistics pages share: the warranty and repeat badges, interception alerts, words.

The keyboard fields are in ``rma.ui.fields``, the signal and banners in ``rma.ui.banner``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from nicegui import ui

from drivers.scan import ScanError, shown
from rma.core.parse import parse_day  # noqa: F401  (moved; still importable from here)
from rma.errors import DomainError
from rma.exports import csv_bytes  # noqa: F401  (moved; still importable from here)
from rma.i18n import _, error_message
from rma.ui.banner import SIGNAL_HEAD, alert_banner, notify_done, notify_problem  # noqa: F401
from rma.ui.fields import focus, pick_first_on_enter, plain_field, scan_field, set_field  # noqa: F401
from rma.ui.frame import unit_url
from rma.ui.widgets import SCAN_FIELD_JS  # noqa: F401  (moved; still importable from here)

WARRANTY_LOOK = {  # badge text and colour of each warranty decision
    "in": ("In warranty", "bg-green-700"),
    "out": ("Out of warranty", "bg-orange-600"),
    "unknown": ("Warranty unknown", "bg-slate-500"),
}
DIRECTIONS = {"in": "Inbound", "out": "Outbound"}


def problem_text(exc: DomainError | ScanError) -> str:
    """A domain error or a bad scan in the worker's language (both carry template + params)."""
    return error_message(exc)  # type: ignore[arg-type]


def escaped(raw: str, limit: int = 80) -> str:
    """A scan as received, every odd character escaped, cut to about ``limit``: safe to show."""
    return shown(raw, limit)


def warranty_badge(warranty: str | None, until: str | None, *, large: bool = False) -> None:
    text, colour = WARRANTY_LOOK.get(warranty or "unknown", WARRANTY_LOOK["unknown"])
    size = "text-base px-3 py-1" if large else "text-sm px-2 py-0.5"
    with ui.row().classes("items-center gap-1 no-wrap"):
        ui.label(_(text)).classes(f"{colour} {size} text-white rounded-full font-semibold whitespace-nowrap").props(
            f"data-warranty={warranty or 'unknown'}"
        )
        if until:
            ui.label(_("until {date}").format(date=until)).classes("text-slate-600 whitespace-nowrap")


def repeat_badge(earlier_tag: str, *, large: bool = False) -> None:
    size = "text-base px-3 py-1" if large else "text-sm px-2 py-0.5"
    with ui.row().classes(f"items-center gap-1 no-wrap bg-purple-700 text-white rounded-full {size}").props(
        "data-testid=repeat-badge"
    ):
        ui.label(_("REPEAT")).classes("font-bold")
        ui.label(_("of")).classes("opacity-80")
        ui.link(earlier_tag, unit_url(earlier_tag)).classes("font-mono text-white underline")


def alert_lines(interceptions: Iterable[Mapping[str, Any]]) -> None:
    for alert in interceptions:
        alert_banner(_("Interception:"), str(alert.get("action") or ""), testid="interception-alert")


def direction_label(direction: str | None) -> str:
    return _(DIRECTIONS[direction]) if direction in DIRECTIONS else (direction or "—")


def this_month() -> str:
    return date.today().strftime("%Y-%m")
