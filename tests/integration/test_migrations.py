"""The schema: empty -> head -> base -> head with no drift, on SQLite and PostgreSQL."""

import subprocess
import sys

import pytest
from sqlalchemy import text

from rma import migrate
from rma.core.models import Base
from rma.db import make_engine
from rma.errors import DomainError


def test_empty_to_head_to_base_to_head_without_drift(empty_db_url):
    engine = make_engine(empty_db_url)
    try:
        assert migrate.upgrade(engine) == (None, migrate.head_revision())
        assert set(Base.metadata.tables) <= migrate.table_names(engine)
        assert migrate.drift(engine) == []
        assert migrate.upgrade(engine) == (migrate.head_revision(), migrate.head_revision())  # idempotent
        migrate.downgrade(engine, "0002")  # one step back keeps the older ledgers guarded
        assert {"returns_ledger_no_update", "returns_ledger_no_delete", "audit_log_no_delete"} <= _triggers(engine)
        assert not {t for t in _triggers(engine) if t.startswith("test_")}
        migrate.downgrade(engine, "base")
        assert migrate.table_names(engine) <= {"alembic_version"}
        migrate.upgrade(engine)
        assert migrate.drift(engine) == []
    finally:
        engine.dispose()


def _triggers(engine) -> set[str]:
    sql = ("SELECT name FROM sqlite_master WHERE type = 'trigger'" if engine.dialect.name == "sqlite"
           else "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(text(sql))}


def test_a_database_from_a_newer_rma_is_refused_and_left_alone(db_url):
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(DomainError) as e:
        migrate.upgrade(engine)
    assert e.value.code == "database_too_new" and "9999_future" in e.value.message
    with pytest.raises(DomainError) as e:
        migrate.require_current(engine)
    assert e.value.code == "database_too_new"
    assert migrate.current_revision(engine) == "9999_future"
    assert set(Base.metadata.tables) <= migrate.table_names(engine)
    engine.dispose()


def test_cli_db_commands(empty_db_url, tmp_path):
    env = {"RMA_HOME": str(tmp_path), "RMA_DATABASE_URL": empty_db_url, "PATH": "/usr/bin:/bin"}

    def rma(*args):
        return subprocess.run([sys.executable, "-m", "rma", *args], env=env, capture_output=True, text=True)

    outdated = rma("user", "list")
    assert outdated.returncode == 1 and "rma db upgrade" in outdated.stderr
    assert rma("db", "upgrade").returncode == 0
    again = rma("db", "upgrade", "--json")
    assert again.returncode == 0 and f'"from": "{migrate.head_revision()}"' in again.stdout
    check = rma("db", "check")
    assert check.returncode == 0, check.stderr
    assert "no drift" in check.stdout


def test_upgrading_a_database_with_data_keeps_it(empty_db_url):
    """Revisions that rebuild tables (SQLite batch mode) must keep rows and references."""
    from rma.core import services
    from rma.core.checks import check_ledgers
    from rma.db import Database

    engine = make_engine(empty_db_url)
    migrate.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO users (id, username, display_name, password_hash, active, auth_version, failed_logins, created_at)"
            " VALUES (1, 'clerk', 'Clerk', 'x', true, 1, 0, '2026-01-05 08:00:00')"))
        conn.execute(text("INSERT INTO user_roles (user_id, role) VALUES (1, 'clerk')"))
        conn.execute(text(
            "INSERT INTO product_models (id, code, name, family, serial_pattern, warranty_months, accessories)"
            " VALUES (1, 'HU-8800', 'Head unit', 'head_unit', '^HU88', 24, '[]')"))
        conn.execute(text("INSERT INTO units (id, serial, model_id, created_at) VALUES (1, 'HU88000001', 1, '2026-01-05 08:00:00')"))
        conn.execute(text(
            "INSERT INTO visits (id, tag, unit_id, state, opened_at, version) VALUES (1, 'R26-000001', 1, 'received', '2026-01-05 08:00:00', 1)"))
        conn.execute(text(
            "INSERT INTO returns_ledger (id, visit_id, at, actor_id, event, to_state, details)"
            " VALUES (1, 1, '2026-01-05 08:00:00', 1, 'opened', 'received', '{}')"))
    migrate.upgrade(engine)
    db = Database(engine)
    with db.uow(readonly=True) as uow:
        report = services.unit_report(uow, "HU88000001")
        assert [v["tag"] for v in report["visits"]] == ["R26-000001"]
        assert report["timeline"][0]["actor"] == "clerk"
        assert check_ledgers(uow) == []
    engine.dispose()


def test_sqlite_gets_query_planner_statistics_with_every_upgrade(tmp_path):
    """Without ANALYZE, SQLite's planner reads a million visits in date order to find the few on the
    bench; `rma db upgrade`, `rma demo` (and a serving station, daily) give it statistics of every index
    of the tables that hold rows."""
    url = f"sqlite:///{tmp_path / 'station.sqlite'}"
    env = {"RMA_HOME": str(tmp_path), "RMA_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    for command in (["db", "upgrade"], ["demo"]):
        done = subprocess.run([sys.executable, "-m", "rma", *command], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            analysed = {row[0] for row in conn.execute(text("SELECT idx FROM sqlite_stat1"))}
        assert {"ix_visits_state", "ix_returns_ledger_visit_id"} <= analysed
    finally:
        engine.dispose()
