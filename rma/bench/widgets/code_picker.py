"""A code by type-ahead: on the code itself or on words in either language.

Each option reads ``202 · Screen flickers · 屏幕闪烁`` (the reader's language first), so typing
``202``, ``flick`` or ``闪烁`` narrows the list. Enter takes the best match: the code typed
exactly, else the first code that starts with it, else the first whose words hold it; then the
cursor goes on to the next field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from nicegui import ui

from rma.i18n import CHINESE, current_language


def words(code: dict[str, Any] | None) -> str:
    """A code's words in the reader's language."""
    if not code:
        return "—"
    return str(code.get("zh") if current_language() == CHINESE else code.get("en") or code.get("code"))


def code_label(c: dict[str, Any], groups: dict[str, dict[str, Any]] | None = None) -> str:
    first, second = (c["zh"], c["en"]) if current_language() == CHINESE else (c["en"], c["zh"])
    group = (groups or {}).get(c.get("parent") or "")
    if group is not None:
        g1, g2 = (group["zh"], group["en"]) if current_language() == CHINESE else (group["en"], group["zh"])
        first, second = f"{g1} › {first}", f"{g2} › {second}"
    return f"{c['code']} · {first} · {second}"


def options(codes: Iterable[dict[str, Any]], kind: str, *, leaves_only: bool = False,
            allowed: Iterable[str] | None = None) -> dict[str, str]:
    """The options of one list; symptoms as ``group › symptom``, groups themselves left out."""
    of_kind = [c for c in codes if c["kind"] == kind]
    groups = {c["code"]: c for c in of_kind if not c.get("parent")}
    parents = {c["parent"] for c in of_kind if c.get("parent")}
    keep = set(allowed) if allowed is not None else None
    return {c["code"]: code_label(c, groups) for c in of_kind
            if not (leaves_only and c["code"] in parents) and (keep is None or c["code"] in keep)}


def best_match(typed: str, choices: dict[str, str]) -> str | None:
    text = typed.strip().lower()
    if not text:
        return None
    for test in (lambda code, label: code.lower() == text, lambda code, label: code.lower().startswith(text),
                 lambda code, label: text in label.lower()):
        found = next((code for code, label in choices.items() if test(code, label)), None)
        if found is not None:
            return found
    return None


def code_select(label: str, choices: dict[str, str], testid: str, *, value: str | None = None,
                then: Callable[[], Any] | None = None, width: str = "min-w-80") -> ui.select:
    """The type-ahead select of one code list; Enter takes the best match and calls ``then``."""
    select = ui.select(choices, with_input=True, label=label, value=value if value in choices else None).props(
        f"outlined dense options-dense clearable data-testid={testid}").classes(width)

    def picked(e: Any) -> None:
        typed = str(e.args or "").strip()
        if typed:
            match = best_match(typed, select.options)
            select.run_method("hidePopup")
            if match is None:
                return
            select.value = match
            select.run_method("updateInputValue", str(select.options[match]), True)
        if then is not None and select.value is not None:
            then()

    select.on("keydown.capture", picked, js_handler="""(e) => {
        if (e.key !== 'Enter' || e.isComposing || e.ctrlKey || e.altKey) return;
        if (document.querySelector('.q-menu .q-manual-focusable--focused')) return;
        const input = e.target.closest('.q-field').querySelector('input');
        e.preventDefault(); e.stopPropagation();
        emit(input ? input.value : '');
    }""")
    return select
