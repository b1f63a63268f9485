"""Department settings: one value for every station, kept in the database, changed by the
supervisor or the admin, every change in the audit log.

``rma.toml`` keeps only what belongs to one station's hardware (printer, scanner, fixture,
programmer); what the department decides (how soon a return counts as a repeat, its target
turnaround, count tolerances, safety stock) lives here. Each setting is declared once below
with its type, default, allowed range and meaning; an area reads it with ``value(uow, key)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from rma.core.ledger import record_audit
from rma.core.models import DepartmentSetting, Role, User
from rma.core.services import require_role
from rma.db import UnitOfWork
from rma.errors import DomainError

EDITORS = (Role.SUPERVISOR, Role.ADMIN)
FAMILIES = ("head_unit", "navigation", "dash_cam", "cluster", "ecu")


@dataclass(frozen=True)
class Setting:
    key: str
    kind: type  # int or float
    default: int | float
    low: int | float
    high: int | float
    unit: str  # English, shown through _()
    label: str  # English, shown through _()


_ALL: list[Setting] = [
    Setting("repeat_window_days", int, 90, 1, 3650, "days",
            "A unit back within this many days of leaving after repair is a repeat repair"),
    *[Setting(f"target_turnaround_days.{f}", int, 10, 1, 365, "days",
              f"Target turnaround, received to left the depot: {f.replace('_', ' ')}") for f in FAMILIES],
    Setting("count_variance_percent", float, 0.3, 0.0, 100.0, "%",
            "A count line whose variance is over this share of its quantity needs a recount and approval"),
    Setting("count_variance_value", float, 200.0, 0.0, 1_000_000.0, "yuan",
            "A count line whose variance is worth more than this needs a recount and approval"),
    Setting("safety_stock_factor", float, 1.5, 0.1, 12.0, "× monthly issue",
            "Safety stock: this many times the average monthly issue of the last three months"),
    Setting("count_every_months.A", int, 1, 1, 60, "months", "Cycle count of class A parts every"),
    Setting("count_every_months.B", int, 3, 1, 60, "months", "Cycle count of class B parts every"),
    Setting("count_every_months.C", int, 12, 1, 60, "months", "Cycle count of class C parts every"),
    Setting("sla_reminder_days.awaiting_bench", int, 3, 1, 365, "days", "Remind when a unit waits for the bench over"),
    Setting("sla_reminder_days.awaiting_parts", int, 5, 1, 365, "days", "Remind when a unit waits for parts over"),
    Setting("sla_reminder_days.awaiting_test", int, 2, 1, 365, "days", "Remind when a unit waits for its test over"),
]
SETTINGS: dict[str, Setting] = {s.key: s for s in _ALL}


def _setting(key: str) -> Setting:
    try:
        return SETTINGS[(key or "").strip()]
    except KeyError:
        raise DomainError("unknown_setting", "no department setting {key!r}; settings: {known}",
                          key=key, known=", ".join(SETTINGS)) from None


def parse_value(key: str, raw: Any) -> int | float:
    """A setting's value from what a person typed, refused with its allowed range when out of it."""
    s = _setting(key)
    try:
        number = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite() or (s.kind is int and number != number.to_integral_value()):
        raise DomainError("bad_setting", "{key} must be {what} from {low} to {high}", key=key,
                          what="a whole number" if s.kind is int else "a number", low=s.low, high=s.high)
    value: int | float = int(number) if s.kind is int else float(number)
    if not s.low <= value <= s.high or (isinstance(value, float) and not math.isfinite(value)):
        raise DomainError("bad_setting", "{key} must be {what} from {low} to {high}", key=key,
                          what="a whole number" if s.kind is int else "a number", low=s.low, high=s.high)
    return value


def value(uow: UnitOfWork, key: str) -> int | float:
    """The department's value of a setting (its default until someone sets it)."""
    s = _setting(key)
    stored = uow.session.scalar(select(DepartmentSetting.value).where(DepartmentSetting.key == s.key))
    return s.default if stored is None else s.kind(stored)


def turnaround_target(uow: UnitOfWork, family: str) -> int:
    key = f"target_turnaround_days.{family}"
    return int(value(uow, key)) if key in SETTINGS else int(SETTINGS["target_turnaround_days.head_unit"].default)


def list_settings(uow: UnitOfWork) -> list[dict[str, Any]]:
    rows = {r.key: r for r in uow.session.scalars(select(DepartmentSetting))}
    out = []
    for s in _ALL:
        row = rows.get(s.key)
        out.append({"key": s.key, "value": s.kind(row.value) if row else s.default, "default": s.default,
                    "low": s.low, "high": s.high, "unit": s.unit, "label": s.label,
                    "changed_by": row.changed_by.username if row and row.changed_by else None,
                    "changed_at": row.changed_at.isoformat() if row else None})
    return out


def set_value(uow: UnitOfWork, actor: User, key: str, raw: Any) -> dict[str, Any]:
    """Change one setting; the audit log keeps what it was, what it is, who and when."""
    require_role(actor, *EDITORS, action="change department settings")
    s = _setting(key)
    new = parse_value(s.key, raw)
    row = uow.session.get(DepartmentSetting, s.key)
    old = s.kind(row.value) if row else s.default
    if row is None:
        row = DepartmentSetting(key=s.key, value=new, changed_by_id=actor.id, changed_at=uow.now())
        uow.session.add(row)
    else:
        row.value, row.changed_by_id, row.changed_at = new, actor.id, uow.now()
    uow.session.flush()
    record_audit(uow, actor, "setting_changed", s.key, {"from": old, "to": new})
    return {"key": s.key, "value": new, "was": old}
