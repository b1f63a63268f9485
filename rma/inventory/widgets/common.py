"""What every stores page shares: its head (keys and signals), the stores' tabs, a keyboard form
(Enter moves on, Enter in the last field sends), key caps, part names in the reader's language,
and the CSV / XLSX download buttons."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from nicegui import ui

from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.exports import csv_bytes, xlsx_bytes
from rma.i18n import CHINESE, _, current_language, error_message
from rma.ui import runtime
from rma.ui.banner import SIGNAL_HEAD, notify_problem
from rma.ui.fields import plain_field

STORES_HEAD = SIGNAL_HEAD + """
<style>
  kbd { font-family: ui-monospace, monospace; font-size: .8em; border: 1px solid #94a3b8;
        border-bottom-width: 2px; border-radius: 4px; padding: 0 .3em; background: #f8fafc; }
  .rma-num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
</style>
<script>
window.rmaStores = {
  focus(testid) {
    let tries = 0;
    const go = () => {
      const el = document.querySelector(`input[data-testid="${testid}"], [data-testid="${testid}"] input`);
      if (el) { el.focus(); if (el.select) el.select(); } else if (tries++ < 40) setTimeout(go, 25);
    };
    go();
  },
};
</script>
"""

# Enter in a field of the form moves to the next one; Enter in the last (or Ctrl+Enter anywhere)
# sends every field's value as the browser holds it; Esc empties the form's fields.
FORM_JS = """(e) => {
  if (e.isComposing) return;
  const inputs = [...e.currentTarget.querySelectorAll('input[data-kf]')];
  const i = inputs.indexOf(e.target);
  if (i < 0) return;
  if (e.key === 'Escape') { emit({_escape: true}); return; }
  if (e.key !== 'Enter') return;
  e.preventDefault();
  if (i < inputs.length - 1 && !e.ctrlKey) { inputs[i + 1].focus(); inputs[i + 1].select(); return; }
  const values = {};
  for (const el of inputs) values[el.dataset.kf] = el.value;
  emit(values);
}"""

TABS = (("/stores", "Issue parts"), ("/stores/receive", "Receipts"), ("/stores/counts", "Counts"),
        ("/stores/statement", "Statement"), ("/stores/reports", "Reports"), ("/stores/parts", "Parts"))


def stores_page(title: str, here: str) -> None:
    """The page's head, title and the stores' tabs."""
    ui.add_head_html(STORES_HEAD)
    with ui.row().classes("w-full items-center gap-2"):
        ui.label(title).classes("text-2xl font-semibold mr-4").props("data-testid=stores-title")
        for path, label in TABS:
            link = ui.link(_(label), path).classes("px-3 py-1 rounded text-base no-underline "
                                                   + ("bg-blue-700 text-white" if path == here else
                                                      "text-blue-800 hover:bg-blue-50"))
            link.props(f"data-testid=stores-tab-{path.rsplit('/', 1)[-1] or 'issue'}")


def key_hints(*hints: tuple[str, str]) -> None:
    ui.html(" · ".join(f"<kbd>{k}</kbd> {what}" for k, what in hints), sanitize=False).classes(
        "text-sm text-slate-500")


class KeyForm:
    """Plain fields in a row: Enter moves on, Enter in the last one sends (``on_send(values)``)."""

    def __init__(self, fields: Iterable[tuple[str, str, str]], on_send: Callable[[dict[str, str]], Any],
                 *, testid: str, on_escape: Callable[[], Any] | None = None) -> None:
        """``fields``: (key, label, width class) in the order Enter walks them."""
        self.on_send, self.on_escape = on_send, on_escape
        self.fields: dict[str, ui.element] = {}
        with ui.row().classes("w-full items-end gap-3").props(f"data-testid={testid}") as self.row:
            for key, label, width in fields:
                self.fields[key] = plain_field(label, f"{testid}-{key}", width=width, **{"data-kf": key})
        self.row.on("keydown", self._key, js_handler=FORM_JS)

    async def _key(self, e) -> None:  # noqa: ANN001
        values = e.args or {}
        if values.get("_escape"):
            if self.on_escape is not None:
                self.on_escape()
            return
        result = self.on_send({k: str(v) for k, v in values.items()})
        if hasattr(result, "__await__"):
            await result

    def set(self, key: str, value: str) -> None:
        from rma.ui.fields import set_field

        set_field(self.fields[key], value)

    def focus(self, key: str) -> None:
        ui.run_javascript(f"rmaStores.focus({self.fields[key].props['data-testid']!r})")


UOM_WORDS = {"each": "each", "set": "set", "roll": "roll", "m": "m", "g": "g", "kg": "kg", "ml": "ml"}


def uom_word(uom: str | None) -> str:
    """A unit of measure in the reader's language (个, 米, 卷 …)."""
    return _(UOM_WORDS[uom]) if uom in UOM_WORDS else (uom or "")


def category_word(category: str | None) -> str:
    return _(CATEGORY_WORDS.get(category or "", category or ""))


CATEGORY_WORDS = {"ic": "IC", "passive": "passive", "connector": "connector", "display": "display",
                  "pcba": "PCB assembly", "harness": "harness", "mechanical": "mechanical",
                  "consumable": "consumable", "unit": "refurbished unit"}


def part_name(row: Mapping[str, Any]) -> str:
    """A part's name in the reader's language."""
    zh, en = row.get("name_zh"), row.get("name_en")
    return (zh or en or "") if current_language() == CHINESE else (en or zh or "")


async def act(user: Any, work: Callable[..., Any]) -> Any | None:
    """One action as the signed-in user; a refused one is said in a notice and gives None."""
    try:
        return await user.act(work)
    except DomainError as exc:
        notify_problem(error_message(exc))
        return None


def downloads(name: str, fetch: Callable[[UnitOfWork], tuple[list[dict[str, Any]], list[str]]], *,
              testid: str) -> None:
    """CSV and XLSX buttons: every row of the report, computed when pressed."""

    async def get(kind: str) -> None:
        try:
            rows, columns = await runtime.read(fetch)
        except DomainError as exc:
            notify_problem(error_message(exc))
            return
        stamp = date.today().isoformat()
        if kind == "csv":
            ui.download.content(csv_bytes(rows, columns), f"{name}-{stamp}.csv", "text/csv")
        else:
            ui.download.content(xlsx_bytes([(name, columns, rows)]), f"{name}-{stamp}.xlsx",
                                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    with ui.row().classes("gap-2"):
        ui.button(_("CSV"), icon="download", on_click=lambda: get("csv")).props(
            f"outline dense no-caps data-testid={testid}-csv")
        ui.button(_("Excel"), icon="download", on_click=lambda: get("xlsx")).props(
            f"outline dense no-caps data-testid={testid}-xlsx")

