"""Every text a worker can see has its 简体中文, with the same {placeholders}.

The sources are read with ``ast``: a new ``_("...")`` in a page or a new
``DomainError(code, "...")`` anywhere in ``rma`` without a translation fails here.
"""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from rma import i18n
from rma.core.models import Role
from rma.core.states import VisitState
from rma.errors import DomainError

RMA = Path(i18n.__file__).parent
UI_SOURCES = sorted({*RMA.glob("ui/**/*.py"), *RMA.glob("*/pages.py"), *RMA.glob("*/pages_*.py"),
                     *RMA.glob("*/widgets/*.py")})
ALL_SOURCES = sorted(RMA.glob("**/*.py"))


def placeholders(text: str) -> set[tuple[str, str | None, str]]:
    return {(name, conv, spec) for _, name, spec, conv in string.Formatter().parse(text) if name is not None}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _called(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _literal(node: ast.AST, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):  # e.g. BAD_LOGIN = "..." at module level
        return constants.get(node.id)
    return None


def _module_constants(tree: ast.Module) -> dict[str, str]:
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = node.value.value
    return out


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(RMA.parent)}:{node.lineno}"


def ui_texts() -> list[tuple[str, str]]:
    """Literals given to _() in the UI, and titles given to pages (shown through _())."""
    found = []
    for path in UI_SOURCES:
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.Call):
                continue
            if _called(node) == "_" and node.args:
                text = _literal(node.args[0], {})
                if text is not None:
                    found.append((_where(path, node), text))
            if _called(node) == "protected_page":
                for kw in node.keywords:
                    if kw.arg == "title" and (text := _literal(kw.value, {})) is not None:
                        found.append((_where(path, node), text))
    return found


def error_templates() -> list[tuple[str, str]]:
    found = []
    for path in ALL_SOURCES:
        tree = _tree(path)
        constants = _module_constants(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _called(node) == "DomainError" and len(node.args) >= 2:
                text = _literal(node.args[1], constants)
                if text is not None:
                    found.append((_where(path, node), text))
    return found


def action_texts() -> list[tuple[str, str]]:
    """The ``action`` of a refused use case, shown inside the translated 'forbidden' message."""
    found = []
    for path in ALL_SOURCES:
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.Call):
                continue
            if _called(node) == "require_role":
                for kw in node.keywords:
                    if kw.arg == "action" and (text := _literal(kw.value, {})) is not None:
                        found.append((_where(path, node), text))
            if _called(node) == "_admin_target" and len(node.args) >= 4:
                if (text := _literal(node.args[3], {})) is not None:
                    found.append((_where(path, node), text))
    return found


def test_the_sources_were_found():
    assert len(UI_SOURCES) >= 10
    assert len(ui_texts()) > 50
    assert len(error_templates()) > 20
    assert action_texts()


def test_every_ui_text_has_chinese():
    missing = sorted({f"{where}: {text!r}" for where, text in ui_texts() if text not in i18n.ZH})
    assert not missing, "no 简体中文 for:\n" + "\n".join(missing)


def test_every_domain_error_template_has_chinese_with_the_same_placeholders():
    problems = []
    for where, template in error_templates():
        if template not in i18n.ZH:
            problems.append(f"{where}: no 简体中文 for {template!r}")
        elif placeholders(i18n.ZH[template]) != placeholders(template):
            problems.append(f"{where}: placeholders differ: {template!r} / {i18n.ZH[template]!r}")
    assert not problems, "\n".join(problems)


def scan_error_templates() -> list[tuple[str, str]]:
    """``ScanError(code, "...")`` in drivers/scan.py: a bad scan's message is shown on the intake pages."""
    path = RMA.parent / "drivers" / "scan.py"
    return [(f"drivers/scan.py:{node.lineno}", text) for node in ast.walk(_tree(path))
            if isinstance(node, ast.Call) and _called(node) == "ScanError" and len(node.args) >= 2
            and (text := _literal(node.args[1], {})) is not None]


def test_every_bad_scan_message_has_chinese_with_the_same_placeholders():
    found = scan_error_templates()
    assert len(found) >= 5
    problems = [f"{where}: {text!r}" for where, text in found
                if text not in i18n.ZH or placeholders(i18n.ZH[text]) != placeholders(text)]
    assert not problems, "\n".join(problems)


def test_every_translation_keeps_its_placeholders():
    differ = [k for k, v in i18n.ZH.items() if placeholders(k) != placeholders(v)]
    assert not differ


def test_every_refused_action_has_chinese():
    missing = sorted({f"{where}: {text!r}" for where, text in action_texts() if text not in i18n.ZH})
    assert not missing, "no 简体中文 for:\n" + "\n".join(missing)


@pytest.mark.parametrize("state", list(VisitState))
def test_every_state_has_a_chinese_label(state):
    assert state in i18n.STATE_LABELS
    assert i18n.translate(i18n.STATE_LABELS[state], i18n.CHINESE) != i18n.STATE_LABELS[state]


@pytest.mark.parametrize("role", list(Role))
def test_every_role_has_a_chinese_label(role):
    assert role in i18n.ROLE_LABELS
    assert i18n.translate(i18n.ROLE_LABELS[role], i18n.CHINESE) != i18n.ROLE_LABELS[role]


def test_areas_login_reasons_and_events_have_chinese():
    from rma.ui.areas import AREAS
    from rma.ui.frame import LOGIN_REASONS

    texts = [a.label for a in AREAS] + list(LOGIN_REASONS.values()) + list(i18n.EVENT_LABELS.values())
    texts += list(i18n.DETAIL_LABELS.values())
    assert [t for t in texts if t not in i18n.ZH] == []


def test_outside_a_page_the_language_is_english():
    assert i18n._("Log in") == "Log in"
    assert i18n.state_label(VisitState.AWAITING_PARTS) == "Awaiting parts"
    assert i18n.translate("Log in", i18n.CHINESE) == "登录"


def test_error_messages_fill_the_translated_template():
    error = DomainError("unknown_unit", "no unit with serial or tag {key!r}", key="X1")
    assert i18n.error_message(error) == "no unit with serial or tag 'X1'"
    zh = i18n.translate(error.template, i18n.CHINESE).format(**error.params)
    assert "'X1'" in zh and zh != error.message
