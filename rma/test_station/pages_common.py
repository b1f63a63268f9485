"""What the test-station pages share: how a verdict, an outcome, limits and a value look."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from nicegui import ui

from rma.i18n import _

# A step's verdict: the English word is shown in capitals (CSS), so "Pass" reads PASS.
VERDICT_LOOK: dict[str, tuple[str, str]] = {
    "pass": ("Pass", "bg-green-700 text-white"),
    "fail": ("Fail", "bg-red-700 text-white"),
    "error": ("Error", "bg-orange-600 text-white"),
    "running": ("Running", "bg-blue-100 text-blue-900"),
    "waiting": ("Your turn", "bg-amber-300 text-amber-950"),
    "pending": ("Waiting", "bg-slate-100 text-slate-500"),
    "skipped": ("Not run", "bg-slate-100 text-slate-400"),
}

# How a run ended: (banner word, colours, icon).
OUTCOME_LOOK: dict[str, tuple[str, str, str]] = {
    "pass": ("PASS", "bg-green-600 text-white", "check_circle"),
    "fail": ("FAIL", "bg-red-700 text-white", "cancel"),
    "error": ("ERROR", "bg-orange-500 text-white", "error"),
    "aborted": ("ABORTED", "bg-slate-600 text-white", "stop_circle"),
    "incomplete": ("INCOMPLETE", "bg-amber-200 text-amber-950", "hourglass_empty"),
}

KIND_LABELS = {"outgoing": "Outgoing test", "incoming": "Incoming test"}
OUTCOMES = ("pass", "fail", "error", "aborted", "incomplete")


def kind_label(kind: str | None) -> str:
    return _(KIND_LABELS[kind]) if kind in KIND_LABELS else (kind or "—")


def outcome_label(outcome: str | None) -> str:
    look = OUTCOME_LOOK.get(outcome or "")
    return _(look[0]) if look else (outcome or "—")


def verdict_badge(verdict: str, *, testid: str | None = None) -> ui.label:
    text, colours = VERDICT_LOOK.get(verdict, (verdict, "bg-slate-200 text-slate-700"))
    badge = ui.label(_(text)).classes(
        f"{colours} uppercase font-bold tracking-wide rounded px-2 py-0.5 text-sm whitespace-nowrap inline-block"
    )
    badge.props(f"data-verdict={verdict}" + (f" data-testid={testid}" if testid else ""))
    return badge


def restyle_verdict(badge: ui.label, verdict: str) -> None:
    text, colours = VERDICT_LOOK.get(verdict, (verdict, "bg-slate-200 text-slate-700"))
    badge.set_text(_(text))
    badge.classes(replace=f"{colours} uppercase font-bold tracking-wide rounded px-2 py-0.5 text-sm "
                          "whitespace-nowrap inline-block")
    badge.props(f"data-verdict={verdict}")


def outcome_badge(outcome: str | None) -> ui.label:
    text, colours, _icon = OUTCOME_LOOK.get(outcome or "", (outcome or "—", "bg-slate-300 text-slate-800", ""))
    return ui.label(_(text)).classes(f"{colours} font-bold rounded px-2 py-0.5 text-sm whitespace-nowrap inline-block") \
        .props(f"data-outcome={outcome or ''}")


def number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def limits_text(limits: Mapping[str, Any] | None) -> str:
    """A step's limits as a tester reads them: ``11.4 – 12.6 V``, ``= 3.2.1``, ``~ ^PASS\\b``, ``yes / no``."""
    limits = limits or {}
    if "min" in limits or "max" in limits:
        unit = f" {limits['unit']}" if limits.get("unit") else ""
        return f"{number(limits.get('min'))} – {number(limits.get('max'))}{unit}"
    if "equals" in limits:
        expected = limits["equals"]
        return f"= {expected}" if expected is not None else _("no firmware version in the catalogue")
    if "answer" in limits:
        asked = _("yes / no") if limits["answer"] == "yes_no" else _("scan")
        return asked + (f"  ~ {limits['regex']}" if limits.get("regex") else "")
    if "regex" in limits:
        return f"~ {limits['regex']}"
    return "—"


def value_text(value: str | None, limits: Mapping[str, Any] | None, numeric: float | None) -> str:
    """What was measured or answered, with the unit of a range."""
    if value is None or value == "":
        return "—"
    unit = (limits or {}).get("unit")
    return f"{value} {unit}" if unit and numeric is not None else value


def csv_bytes(rows: Iterable[Mapping[str, Any]], columns: list[str]) -> bytes:
    """CSV with a BOM, so spreadsheet programs on Chinese Windows read the UTF-8 right; lists joined by spaces."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in columns})
    return out.getvalue().encode("utf-8-sig")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return value


def notify_problem(text: str) -> None:
    ui.notify(text, type="negative", position="top", close_button=True, timeout=8000, multi_line=True)
