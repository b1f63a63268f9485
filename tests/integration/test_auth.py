"""Logging in: argon2 hashes, one message for unknown user and wrong password, slow-down."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from rma.core import services
from rma.core.models import User
from rma.errors import DomainError
from tests.factories import seed_basics


def _login(db, name, password, now=None):
    clock = (lambda: now) if now else None
    with (db.uow(clock=clock) if clock else db.uow()) as uow:
        return services.authenticate(uow, name, password).username


def _error(db, name, password, now=None):
    with pytest.raises(DomainError) as e:
        _login(db, name, password, now)
    return e.value


def test_login_and_password_is_stored_as_argon2(db):
    seed_basics(db)
    assert _login(db, " Clerk ", "clerk-pass") == "clerk"
    with db.uow(readonly=True) as uow:
        stored = uow.session.scalar(select(User.password_hash).where(User.username == "clerk"))
    assert stored.startswith("$argon2id$") and "clerk-pass" not in stored


def test_unknown_user_and_wrong_password_get_the_same_answer(db):
    seed_basics(db)
    wrong, unknown = _error(db, "clerk", "nope-nope"), _error(db, "nobody", "nope-nope")
    assert (wrong.code, wrong.message) == (unknown.code, unknown.message) == ("bad_login", services.BAD_LOGIN)


def test_disabled_user_is_told_only_with_the_right_password(db):
    seed_basics(db)
    with db.uow() as uow:
        services.set_user_active(uow, services.get_actor(uow, "admin"), "clerk", False)
    assert _error(db, "clerk", "wrong-pass").code == "bad_login"
    assert _error(db, "clerk", "clerk-pass").code == "user_disabled"
    with pytest.raises(DomainError) as e, db.uow() as uow:
        services.get_actor(uow, "clerk")
    assert e.value.code == "forbidden"


def test_repeated_failures_slow_down_then_recover(db):
    seed_basics(db)
    t0 = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)
    for i in range(services.FREE_LOGIN_FAILURES):
        assert _error(db, "tech", "bad-guess", t0 + timedelta(seconds=i)).code == "bad_login"
    last = t0 + timedelta(seconds=services.FREE_LOGIN_FAILURES - 1)
    throttled = _error(db, "tech", "tech-pass", last + timedelta(seconds=1))  # even the right password waits
    assert throttled.code == "login_throttled" and "s." in throttled.message
    assert _login(db, "tech", "tech-pass", last + timedelta(seconds=6)) == "tech"
    assert _login(db, "tech", "tech-pass", last + timedelta(seconds=7)) == "tech"  # counter was reset


def test_unknown_names_are_slowed_down_the_same_way(db):
    seed_basics(db)
    t0 = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)
    name = f"ghost{id(db)}"
    for i in range(services.FREE_LOGIN_FAILURES):
        _error(db, name, "x" * 9, t0 + timedelta(seconds=i))
    assert _error(db, name, "x" * 9, t0 + timedelta(seconds=5)).code == "login_throttled"


def test_password_reset_ends_old_sessions_and_is_audited(db):
    seed_basics(db)
    with db.uow() as uow:
        before = services.get_actor(uow, "clerk").auth_version
        services.reset_password(uow, services.get_actor(uow, "admin"), "clerk", "new-clerk-pass")
    with db.uow(readonly=True) as uow:
        assert services.get_actor(uow, "clerk").auth_version == before + 1
        from rma.core.models import AuditEntry
        actions = [(a.action, a.subject, a.actor.username if a.actor else None)
                   for a in uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions[0] == ("user_added", "admin", None)
    assert actions[-1] == ("password_reset", "clerk", "admin")
    assert _error(db, "clerk", "clerk-pass").code == "bad_login"
    assert _login(db, "clerk", "new-clerk-pass") == "clerk"


def test_roles_change_only_by_admin(db):
    seed_basics(db)
    from rma.core.models import Role
    with pytest.raises(DomainError) as e, db.uow() as uow:
        services.set_user_roles(uow, services.get_actor(uow, "lead"), "clerk", [Role.ADMIN])
    assert e.value.code == "forbidden"
    with db.uow() as uow:
        services.set_user_roles(uow, services.get_actor(uow, "admin"), "clerk", [Role.CLERK, Role.TESTER])
    with db.uow(readonly=True) as uow:
        assert services.get_actor(uow, "clerk").roles == {Role.CLERK, Role.TESTER}
