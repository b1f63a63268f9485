"""Core use cases: users and login, the acting user's roles, units, and moving visits.

Every service takes a unit of work first and, when it changes data, the acting user.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from rma.core.ledger import record_audit, record_visit_event
from rma.core.models import (
    Customer,
    ReturnsLedgerEntry,
    Role,
    TagSequence,
    Unit,
    User,
    UserRole,
    Visit,
)
from rma.core.parse import FREE_TEXT_LIMIT, clean_text, control_character
from rma.core.states import INITIAL, TERMINAL, VisitState, can_move
from rma.db import UnitOfWork
from rma.errors import DomainError

# ---------------------------------------------------------------- users and roles

_hasher = PasswordHasher()
@cache
def _dummy_hash() -> str:
    """A hash to verify unknown names against, made at the first login (not at every command's import)."""
    return _hasher.hash("not a password of anyone")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
FREE_LOGIN_FAILURES = 5
MAX_LOGIN_DELAY_S = 300

BAD_LOGIN = "Unknown user or wrong password."


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise DomainError(
            "unknown_role", "unknown role {role!r}; roles are: {known}",
            role=value, known=", ".join(r.value for r in Role),
        ) from None


def require_role(actor: User, *roles: Role, action: str) -> None:
    """Refuse unless the actor is active and holds one of ``roles``."""
    if not actor.active:
        raise DomainError("forbidden", "user {user} is disabled", user=actor.username)
    if not actor.roles & set(roles):
        raise DomainError(
            "forbidden", "{user} may not {action}: that needs the role {roles}",
            user=actor.username, action=action, roles=" or ".join(r.value for r in roles),
        )


def _user_named(uow: UnitOfWork, username: str | None) -> User | None:
    """The user of that name; a name that cannot be a user name (control characters, too long) is nobody."""
    name = (username or "").strip().lower()
    if not name or len(name) > 64 or control_character(name):
        return None
    # the roles in the same round trip: every action asks for them
    return uow.session.scalars(select(User).options(joinedload(User.role_rows)).where(User.username == name)
                               ).unique().first()


def get_actor(uow: UnitOfWork, username: str | None) -> User:
    """The user a command acts as; unknown or disabled users are refused."""
    if not username:
        raise DomainError("no_actor", "say who is acting: --as NAME or RMA_USER")
    user = _user_named(uow, username)
    if user is None:
        raise DomainError("unknown_user", "no user named {name}", name=username[:64])
    if not user.active:
        raise DomainError("forbidden", "user {user} is disabled", user=user.username)
    return user


def get_user_by_id(uow: UnitOfWork, user_id: int) -> User | None:
    return uow.session.get(User, user_id)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise DomainError("weak_password", "a password needs at least {n} characters", n=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD or control_character(password) is not None:
        raise DomainError("bad_password", "a password is at most {n} characters, without control characters",
                          n=MAX_PASSWORD)


def _secret(password: str | None) -> bytes:
    """What is hashed or verified: any text a login form can send (even bytes that were not UTF-8)."""
    return (password or "").encode("utf-8", "surrogatepass")


def add_user(
    uow: UnitOfWork, actor: User | None, *, username: str, password: str,
    roles: list[Role], display_name: str | None = None,
) -> User:
    """Add a user. Only an admin may, except for the very first user of a new database."""
    has_users = uow.session.scalar(select(func.count()).select_from(User)) > 0
    if has_users or actor is not None:
        if actor is None:
            raise DomainError("no_actor", "say who is acting: --as NAME or RMA_USER")
        require_role(actor, Role.ADMIN, action="add users")
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise DomainError(
            "bad_username", "user names are 2-64 characters: a-z, 0-9, dot, dash, underscore; got {name!r}",
            name=username,
        )
    if not roles:
        raise DomainError("no_role", "a user needs at least one role")
    display_name = clean_text(display_name, "display name", column=User.display_name)
    _check_password(password)
    if uow.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise DomainError("user_exists", "a user named {name} already exists", name=username)
    user = User(
        username=username, display_name=display_name or username,
        password_hash=_hasher.hash(password), active=True, auth_version=1, failed_logins=0,
        created_at=uow.now(),
    )
    user.role_rows = [UserRole(role=r) for r in sorted(set(roles))]
    uow.session.add(user)
    uow.session.flush()
    record_audit(uow, actor, "user_added", username, {"roles": sorted(r.value for r in set(roles))})
    return user


def list_users(uow: UnitOfWork) -> list[User]:
    return list(uow.session.scalars(select(User).order_by(User.username)))


def _admin_target(uow: UnitOfWork, actor: User, username: str, action: str) -> User:
    require_role(actor, Role.ADMIN, action=action)
    user = _user_named(uow, username)
    if user is None:
        raise DomainError("unknown_user", "no user named {name}", name=(username or "")[:64])
    return user


def reset_password(uow: UnitOfWork, actor: User, username: str, password: str) -> User:
    user = _admin_target(uow, actor, username, "reset passwords")
    _check_password(password)
    user.password_hash = _hasher.hash(password)
    user.auth_version += 1
    user.failed_logins = 0
    user.last_failed_login_at = None
    record_audit(uow, actor, "password_reset", user.username)
    return user


def set_user_active(uow: UnitOfWork, actor: User, username: str, active: bool) -> User:
    user = _admin_target(uow, actor, username, "enable or disable users")
    if user.id == actor.id and not active:
        raise DomainError("forbidden", "you cannot disable yourself")
    user.active = active
    user.auth_version += 1
    record_audit(uow, actor, "user_enabled" if active else "user_disabled", user.username)
    return user


def set_user_roles(uow: UnitOfWork, actor: User, username: str, roles: list[Role]) -> User:
    user = _admin_target(uow, actor, username, "change roles")
    if not roles:
        raise DomainError("no_role", "a user needs at least one role")
    if user.id == actor.id and Role.ADMIN not in roles:
        raise DomainError("forbidden", "you cannot take the admin role from yourself")
    before = sorted(r.value for r in user.roles)
    wanted = set(roles)
    user.role_rows = [rr for rr in user.role_rows if rr.role in wanted] + [
        UserRole(role=r) for r in sorted(wanted - user.roles)
    ]
    user.auth_version += 1
    record_audit(uow, actor, "roles_changed", user.username,
                 {"before": before, "after": sorted(r.value for r in wanted)})
    return user


# Unknown names get the same slow-down as known ones, kept in memory, so that the answer
# (and its timing) never tells whether a user exists.
_unknown_failures: dict[str, tuple[int, float]] = {}
_unknown_lock = threading.Lock()


def login_delay_seconds(failures: int) -> int:
    """How long a name must wait after ``failures`` consecutive failed logins."""
    if failures < FREE_LOGIN_FAILURES:
        return 0
    return min(MAX_LOGIN_DELAY_S, 5 * 2 ** (failures - FREE_LOGIN_FAILURES))


def _throttled(failures: int, last: datetime | float | None, now: datetime) -> int:
    wait = login_delay_seconds(failures)
    if not wait or last is None:
        return 0
    last_ts = last.timestamp() if isinstance(last, datetime) else last
    remaining = int(last_ts + wait - now.timestamp()) + 1
    return max(0, min(remaining, wait))


def authenticate(uow: UnitOfWork, username: str, password: str) -> User:
    """Check a login. Failed attempts are committed even though the login is refused."""
    name = (username or "").strip().lower()
    if len(name) > 64 or control_character(name):
        name = "\ufffd"  # cannot be anyone's name: one shared slow-down, never a database error
    now = uow.now()
    user = _user_named(uow, name) if name else None
    if user is None:
        with _unknown_lock:
            count, last = _unknown_failures.get(name, (0, None))
        wait = _throttled(count, last, now)
        if wait:
            raise DomainError("login_throttled", "Too many failed logins. Try again in {seconds} s.", seconds=wait)
        try:
            _hasher.verify(_dummy_hash(), _secret(password))
        except VerificationError:
            pass
        with _unknown_lock:
            _unknown_failures[name] = (count + 1, now.timestamp())
        raise DomainError("bad_login", BAD_LOGIN)
    wait = _throttled(user.failed_logins, user.last_failed_login_at, now)
    if wait:
        raise DomainError("login_throttled", "Too many failed logins. Try again in {seconds} s.", seconds=wait)
    try:
        _hasher.verify(user.password_hash, _secret(password))
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        user.last_failed_login_at = now
        uow.session.commit()  # the failure must count even though the action fails
        raise DomainError("bad_login", BAD_LOGIN) from None
    if not user.active:
        raise DomainError("user_disabled", "This account is disabled. Ask an administrator.")
    if user.failed_logins:
        user.failed_logins = 0
        user.last_failed_login_at = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


# ---------------------------------------------------------------- units and visits

def normalise_key(key: str) -> str:
    """A tag, serial or waybill as typed or scanned: trimmed, upper case."""
    return (key or "").strip().upper()


def usable_key(key: str) -> bool:
    """Whether a normalised key can name anything at all: a key with control characters or of
    a hundred characters names nothing, and is never sent to the database (PostgreSQL refuses a NUL)."""
    return bool(key) and len(key) <= MAX_KEY and control_character(key) is None


MAX_KEY = 64  # the longest tag, serial or waybill column


def find_visit(uow: UnitOfWork, tag: str) -> Visit:
    key = normalise_key(tag)
    visit = uow.session.scalar(select(Visit).where(Visit.tag == key)) if usable_key(key) else None
    if visit is None:
        raise DomainError("unknown_visit", "no visit with tag {tag}", tag=(tag or "")[:40])
    return visit


def find_unit(uow: UnitOfWork, key: str) -> Unit:
    """A unit by its serial or by the tag of any of its visits."""
    key = normalise_key(key)
    if not usable_key(key):
        raise DomainError("unknown_unit", "no unit with serial or tag {key!r}", key=key[:40])
    unit = uow.session.scalar(select(Unit).where(Unit.serial == key))
    if unit is None:
        unit = uow.session.scalar(select(Unit).join(Visit).where(Visit.tag == key))
    if unit is None:
        raise DomainError("unknown_unit", "no unit with serial or tag {key!r}", key=key)
    return unit


def open_visit_of(uow: UnitOfWork, unit: Unit) -> Visit | None:
    return uow.session.scalar(
        select(Visit).where(Visit.unit_id == unit.id, Visit.closed_at.is_(None))
    )


def find_open_visit(uow: UnitOfWork, key: str) -> Visit:
    """The visit a scan at a station means: the visit of a tag, or the open visit of a serial."""
    key = normalise_key(key)
    usable = usable_key(key)
    visit = uow.session.scalar(select(Visit).where(Visit.tag == key)) if usable else None
    if visit is not None:
        return visit
    unit = uow.session.scalar(select(Unit).where(Unit.serial == key)) if usable else None
    if unit is None:
        raise DomainError("unknown_unit", "no unit with serial or tag {key!r}", key=key[:40])
    visit = open_visit_of(uow, unit)
    if visit is None:
        raise DomainError("no_open_visit", "unit {serial} has no open visit: it is not in the depot now",
                          serial=unit.serial)
    return visit


TAG_SHAPE = re.compile(r"R\d{2}-\d{6,}")  # what next_tag writes: R, the year's two digits, the number


def looks_like_tag(key: str) -> bool:
    """Whether a normalised key could be a tag at all (``next_tag`` makes every tag): a scan that
    cannot is never looked up among the visits."""
    return TAG_SHAPE.fullmatch(key) is not None


def next_tag(uow: UnitOfWork) -> str:
    """A new tag number, e.g. ``R26-000042``: unique, never reused, safe under concurrency."""
    prefix = f"R{uow.now():%y}"
    session = uow.session
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(TagSequence)
    session.execute(ins.values(prefix=prefix, last_number=0).on_conflict_do_nothing())
    number = session.execute(
        update(TagSequence)
        .where(TagSequence.prefix == prefix)
        .values(last_number=TagSequence.last_number + 1)
        .returning(TagSequence.last_number)
    ).scalar_one()
    return f"{prefix}-{number:06d}"


def open_visit(
    uow: UnitOfWork, actor: User, unit: Unit, *, customer: Customer | None,
    reason: str | None, details: dict[str, Any] | None = None,
) -> Visit:
    """Open a new visit of ``unit`` in the first state, with its tag and its first ledger row."""
    require_role(actor, Role.CLERK, action="receive units")
    current = open_visit_of(uow, unit)
    if current is not None:
        raise DomainError(
            "unit_already_open", "unit {serial} already has an open visit {tag} ({state})",
            serial=unit.serial, tag=current.tag, state=current.state.value,
        )
    now = uow.now()
    visit = Visit(
        tag=next_tag(uow), unit=unit, customer=customer, state=INITIAL,
        return_reason=reason, opened_at=now, closed_at=None,
    )
    uow.session.add(visit)
    uow.session.flush()
    record_visit_event(uow, visit, actor, "opened", to_state=INITIAL,
                       details={"reason": reason, **(details or {})})
    return visit


def transition(
    uow: UnitOfWork, actor: User, visit: Visit, to_state: VisitState, *,
    event: str, details: dict[str, Any] | None = None,
) -> ReturnsLedgerEntry:
    """The one place a visit changes state: checks the table, writes the ledger, same transaction.

    Callers check the actor's role for their own use case first.
    """
    from_state, tag = visit.state, visit.tag
    if not can_move(from_state, to_state):
        raise DomainError(
            "illegal_transition", "visit {tag} cannot move from {from_state} to {to_state}",
            tag=visit.tag, from_state=from_state.value, to_state=to_state.value,
        )
    visit.state = to_state
    if to_state in TERMINAL:
        visit.closed_at = uow.now()
    entry = record_visit_event(uow, visit, actor, event, from_state=from_state, to_state=to_state,
                               details=details)
    try:
        uow.session.flush()
    except StaleDataError:
        raise DomainError(
            "concurrent_change", "visit {tag} was changed by someone else at the same moment; "
            "look at it again and retry", tag=tag,
        ) from None
    return entry


def move_visit(uow: UnitOfWork, actor: User, tag: str, to_state: VisitState, reason: str) -> ReturnsLedgerEntry:
    """A manual move along the transition table by a lead or supervisor, with its reason."""
    require_role(actor, Role.LEAD, Role.SUPERVISOR, action="move visits by hand")
    if not (reason or "").strip():
        raise DomainError("reason_required", "a manual move needs a reason")
    reason = clean_text(reason, "reason for the move", limit=FREE_TEXT_LIMIT, multiline=True)
    visit = find_visit(uow, tag)
    return transition(uow, actor, visit, to_state, event="manual_move", details={"reason": reason})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def ledger_entry_dict(e: ReturnsLedgerEntry, tag: str) -> dict[str, Any]:
    return {
        "id": e.id, "tag": tag, "at": _iso(e.at), "actor": e.actor.username, "event": e.event,
        "from_state": e.from_state.value if e.from_state else None,
        "to_state": e.to_state.value if e.to_state else None,
        "details": e.details, "corrects": e.corrects_id,
    }


def unit_report(uow: UnitOfWork, key: str) -> dict[str, Any]:
    """Everything about a unit for its page and ``rma unit show``: plain data, JSON-ready."""
    unit = find_unit(uow, key)
    visits = list(uow.session.scalars(select(Visit).where(Visit.unit_id == unit.id).order_by(Visit.opened_at, Visit.id)))
    tags = {v.id: v.tag for v in visits}
    events = list(uow.session.scalars(
        select(ReturnsLedgerEntry).where(ReturnsLedgerEntry.visit_id.in_(tags)).order_by(ReturnsLedgerEntry.at, ReturnsLedgerEntry.id)
    )) if tags else []
    current = next((v for v in reversed(visits) if v.closed_at is None), visits[-1] if visits else None)
    return {
        "serial": unit.serial,
        "model": {"code": unit.model.code, "name": unit.model.name, "family": unit.model.family},
        "manufactured_on": unit.manufactured_on.isoformat() if unit.manufactured_on else None,
        "sold_on": unit.sold_on.isoformat() if unit.sold_on else None,
        "state": current.state.value if current else None,
        "open_visit": current.tag if current and current.closed_at is None else None,
        "visits": [
            {
                "tag": v.tag, "state": v.state.value, "opened_at": _iso(v.opened_at),
                "closed_at": _iso(v.closed_at),
                "customer": v.customer.code if v.customer else None,
                "customer_name": v.customer.name if v.customer else None,
                "return_reason": v.return_reason,
            }
            for v in visits
        ],
        "timeline": [ledger_entry_dict(e, tags[e.visit_id]) for e in events],
    }


def count_by_state(uow: UnitOfWork) -> dict[str, int]:
    rows = uow.session.execute(select(Visit.state, func.count()).group_by(Visit.state)).all()
    return {state.value: n for state, n in rows}


def recent_events(uow: UnitOfWork, limit: int = 20) -> list[dict[str, Any]]:
    rows = uow.session.execute(
        select(ReturnsLedgerEntry, Visit.tag).join(Visit, ReturnsLedgerEntry.visit_id == Visit.id)
        .order_by(ReturnsLedgerEntry.id.desc()).limit(limit)
    ).all()
    return [ledger_entry_dict(e, tag) for e, tag in rows]


