"""The bench's code lists, shaped like the electronics trade's IRIS coding: condition · symptom
(groups and the symptoms in them) · section · defect · repair, each in English and 简体中文.

The department starts with the set the migration seeds; the lead (or the supervisor) adds
codes, changes their words, deactivates them, or imports a CSV; every change is in the
audit log with what it was and what it became. A code is never deleted: findings keep
pointing at it.

CSV columns (header row, any order, case-insensitive): ``kind``, ``code``, ``en``, ``zh``
(required), ``parent`` (a symptom's group), ``sections`` (a defect's sections, separated by
spaces or ``|``; empty: any), ``needs_note`` and ``active`` (yes/no, 1/0, true/false). A known
code is updated, a new one created; each line is applied whole or rejected with its number.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from rma.bench.models import CODE_LENGTH, BenchCode, CodeKind
from rma.core.ledger import record_audit
from rma.core.models import Role, User
from rma.core.parse import clean_text, control_character
from rma.core.services import require_role
from rma.db import UnitOfWork
from rma.errors import DomainError

EDITORS = (Role.LEAD, Role.SUPERVISOR)
CODE_RE = re.compile(rf"^[A-Z0-9][A-Z0-9_.-]{{0,{CODE_LENGTH - 1}}}$")
MAX_IMPORT_BYTES = 2 * 1024 * 1024  # a code list is a few hundred lines
YES = {"yes", "y", "1", "true", "是"}
NO = {"no", "n", "0", "false", "否", ""}
CSV_COLUMNS = ["kind", "code", "en", "zh", "parent", "sections", "needs_note", "active"]


def parse_kind(value: str) -> CodeKind:
    try:
        return CodeKind((value or "").strip().lower())
    except ValueError:
        raise DomainError("unknown_code_list", "no code list {kind!r}; the lists are: {known}",
                          kind=(value or "")[:40], known=", ".join(k.value for k in CodeKind)) from None


def clean_code(value: str | None) -> str:
    code = (value or "").strip().upper()
    if not CODE_RE.match(code):
        raise DomainError("bad_bench_code", "code {code!r}: 1-{n} characters A-Z, 0-9, dot, dash, underscore",
                          code=(value or "")[:40], n=CODE_LENGTH)
    return code


def code_dict(c: BenchCode) -> dict[str, Any]:
    return {"kind": c.kind.value, "code": c.code, "parent": c.parent, "en": c.text_en, "zh": c.text_zh,
            "sections": sorted(c.sections or []), "needs_note": c.needs_note, "active": c.active}


def list_codes(uow: UnitOfWork, kind: CodeKind | None = None, *, include_inactive: bool = False) -> list[dict[str, Any]]:
    q = select(BenchCode).order_by(BenchCode.kind, BenchCode.code)
    if kind is not None:
        q = q.where(BenchCode.kind == kind)
    if not include_inactive:
        q = q.where(BenchCode.active)
    return [code_dict(c) for c in uow.session.scalars(q)]


def find_code(uow: UnitOfWork, kind: CodeKind, value: str | None) -> BenchCode | None:
    code = (value or "").strip().upper()
    if not code or len(code) > CODE_LENGTH or control_character(code):
        return None
    return uow.session.scalar(select(BenchCode).where(BenchCode.kind == kind, BenchCode.code == code))


def get_code(uow: UnitOfWork, kind: CodeKind, value: str | None) -> BenchCode:
    """An active code of the list, or ``unknown_code`` naming the list."""
    found = find_code(uow, kind, value)
    if found is None or not found.active:
        raise DomainError("unknown_code", "no {kind} code {code!r}", kind=kind.value, code=(value or "")[:40])
    return found


def words(c: BenchCode | None) -> dict[str, str] | None:
    """A code's words as they go into a ledger event: the text in both languages at that moment."""
    return None if c is None else {"en": c.text_en, "zh": c.text_zh}


# ---------------------------------------------------------------- changing the lists

@dataclass
class _Wanted:
    kind: CodeKind
    code: str
    en: str | None = None
    zh: str | None = None
    parent: str | None = None
    sections: list[str] | None = None
    needs_note: bool | None = None
    active: bool | None = None
    given: set[str] = field(default_factory=set)  # the fields given (an empty parent clears it)


def _check(uow: UnitOfWork, w: _Wanted, existing: BenchCode | None) -> dict[str, Any]:
    """The code's values after the change, checked against the other codes."""
    now = code_dict(existing) if existing is not None else {
        "kind": w.kind.value, "code": w.code, "parent": None, "en": None, "zh": None, "sections": [],
        "needs_note": False, "active": True}
    for name in ("en", "zh"):
        if name in w.given:
            now[name] = clean_text(getattr(w, name), f"{name} text", column=getattr(BenchCode, f"text_{name}"),
                                   required=True)
    if not now["en"] or not now["zh"]:
        raise DomainError("text_required", "{field} is required", field="en / zh text")
    if "parent" in w.given:
        now["parent"] = clean_code(w.parent) if (w.parent or "").strip() else None
    if "sections" in w.given:
        now["sections"] = sorted({clean_code(s) for s in (w.sections or [])})
    for name in ("needs_note", "active"):
        if name in w.given and getattr(w, name) is not None:
            now[name] = bool(getattr(w, name))
    if now["parent"] is not None:
        if w.kind is not CodeKind.SYMPTOM:
            raise DomainError("bad_code_parent", "only a symptom belongs to a group; {kind} {code} cannot",
                              kind=w.kind.value, code=w.code)
        group = find_code(uow, CodeKind.SYMPTOM, now["parent"])
        if group is None or group.code == w.code or group.parent is not None:
            raise DomainError("bad_code_parent", "symptom group {parent} is not a symptom without a group of its own",
                              parent=now["parent"])
        if existing is not None and uow.session.scalar(select(BenchCode.id).where(
                BenchCode.kind == CodeKind.SYMPTOM, BenchCode.parent == w.code)):
            raise DomainError("bad_code_parent", "symptom {code} is a group: a group cannot belong to another",
                              code=w.code)
    if now["sections"]:
        if w.kind is not CodeKind.DEFECT:
            raise DomainError("bad_code_sections", "only a defect names the sections it is found in; {kind} {code} cannot",
                              kind=w.kind.value, code=w.code)
        known = set(uow.session.scalars(select(BenchCode.code).where(BenchCode.kind == CodeKind.SECTION)))
        unknown = [s for s in now["sections"] if s not in known]
        if unknown:
            raise DomainError("unknown_code", "no {kind} code {code!r}", kind="section", code=", ".join(unknown))
    return now


def _apply(uow: UnitOfWork, actor: User, w: _Wanted, *, create: bool | None) -> tuple[BenchCode, str]:
    """Create or change one code; ``create`` True: must be new, False: must exist, None: either."""
    existing = find_code(uow, w.kind, w.code)
    if create is True and existing is not None:
        raise DomainError("code_exists", "{kind} code {code} already exists", kind=w.kind.value, code=w.code)
    if create is False and existing is None:
        raise DomainError("unknown_code", "no {kind} code {code!r}", kind=w.kind.value, code=w.code)
    now = _check(uow, w, existing)
    if existing is None:
        code = BenchCode(kind=w.kind, code=w.code, parent=now["parent"], text_en=now["en"], text_zh=now["zh"],
                         sections=now["sections"], needs_note=now["needs_note"], active=now["active"])
        uow.session.add(code)
        uow.session.flush()
        record_audit(uow, actor, "bench_code_added", f"{w.kind.value} {w.code}", code_dict(code))
        return code, "created"
    before = code_dict(existing)
    if before == now:
        return existing, "unchanged"
    existing.parent, existing.text_en, existing.text_zh = now["parent"], now["en"], now["zh"]
    existing.sections, existing.needs_note, existing.active = now["sections"], now["needs_note"], now["active"]
    uow.session.flush()
    changed = {k: {"from": before[k], "to": now[k]} for k in now if before[k] != now[k]}
    record_audit(uow, actor, "bench_code_changed", f"{w.kind.value} {w.code}", changed)
    return existing, "updated"


def add_code(uow: UnitOfWork, actor: User, kind: str | CodeKind, code: str, *, en: str, zh: str,
             parent: str | None = None, sections: Iterable[str] = (), needs_note: bool = False) -> dict[str, Any]:
    """A new code in one of the lists (lead, supervisor)."""
    require_role(actor, *EDITORS, action="change the bench code lists")
    w = _Wanted(parse_kind(kind) if isinstance(kind, str) else kind, clean_code(code), en, zh, parent,
                list(sections), needs_note, True, {"en", "zh", "parent", "sections", "needs_note"})
    return code_dict(_apply(uow, actor, w, create=True)[0])


def change_code(uow: UnitOfWork, actor: User, kind: str | CodeKind, code: str, **changes: Any) -> dict[str, Any]:
    """Change a code's words, group, sections, "needs a note" or whether it is offered (lead, supervisor)."""
    require_role(actor, *EDITORS, action="change the bench code lists")
    allowed = {"en", "zh", "parent", "sections", "needs_note", "active"}
    given = {k for k, v in changes.items() if k in allowed and v is not None}
    w = _Wanted(parse_kind(kind) if isinstance(kind, str) else kind, clean_code(code),
                **{k: changes[k] for k in given}, given=given)
    return code_dict(_apply(uow, actor, w, create=False)[0])


def _flag(value: str, column: str) -> bool:
    v = value.strip().lower()
    if v in YES:
        return True
    if v in NO:
        return False
    raise ValueError(f"{column} {value[:20]!r} is not yes or no")


@dataclass
class CodeImport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": [{"line": line, "reason": reason} for line, reason in self.rejected]}


def import_codes(uow: UnitOfWork, actor: User, data: bytes) -> CodeImport:
    """Create or update codes from a CSV (columns in the module's docstring); bad lines are reported, not applied.

    Groups come before their symptoms and sections before the defects that name them, whatever
    the order of the file.
    """
    from rma.intake.imports import decode_csv

    require_role(actor, *EDITORS, action="change the bench code lists")
    if len(data) > MAX_IMPORT_BYTES:
        raise DomainError("file_too_big", "the file {name} is larger than {mb} MB", name="code list",
                          mb=MAX_IMPORT_BYTES // 2**20)
    reader = csv.reader(io.StringIO(decode_csv(data), newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise DomainError("bad_csv", "the file is empty") from None
    except csv.Error as exc:
        raise DomainError("bad_csv", "the header row is not CSV: {reason}", reason=str(exc)) from None
    if any(control_character(h) for h in header):
        raise DomainError("bad_csv", "the header row has control characters")
    missing = [c for c in ("kind", "code", "en", "zh") if c not in header]
    if missing:
        raise DomainError("bad_csv", "the header lacks the column(s) {cols}; it has: {header}",
                          cols=", ".join(missing), header=", ".join(header))
    report = CodeImport()
    lines: list[tuple[int, dict[str, str]]] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.rejected.append((reader.line_num, f"not a CSV row: {exc}"))
            continue
        if not any(cell.strip() for cell in row):
            continue
        report.rows += 1
        if len(row) != len(header):
            report.rejected.append((reader.line_num, f"{len(row)} fields where the header has {len(header)}"))
            continue
        lines.append((reader.line_num, dict(zip(header, row))))
    order = {CodeKind.SECTION: 0, CodeKind.CONDITION: 1, CodeKind.SYMPTOM: 2, CodeKind.DEFECT: 3, CodeKind.REPAIR: 4}

    def rank(item: tuple[int, dict[str, str]]) -> tuple[int, int, int]:
        cells = item[1]
        try:
            kind = order[parse_kind(cells.get("kind", ""))]
        except DomainError:
            kind = -1
        return kind, 1 if (cells.get("parent") or "").strip() else 0, item[0]

    for line, cells in sorted(lines, key=rank):
        try:
            given = {"en", "zh"} | {c for c in ("parent", "sections", "needs_note", "active") if c in cells}
            w = _Wanted(parse_kind(cells["kind"]), clean_code(cells["code"]), cells["en"], cells["zh"],
                        cells.get("parent"),
                        [s for s in re.split(r"[\s|]+", cells.get("sections", "")) if s],
                        _flag(cells["needs_note"], "needs_note") if "needs_note" in cells else None,
                        _flag(cells["active"], "active") if "active" in cells else None, given)
            with uow.session.begin_nested():
                _, outcome = _apply(uow, actor, w, create=None)
        except DomainError as exc:
            report.rejected.append((line, exc.message))
            continue
        except ValueError as exc:
            report.rejected.append((line, str(exc)))
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    report.rejected.sort()
    record_audit(uow, actor, "bench_codes_imported", f"{report.rows} rows", report.as_dict())
    return report
