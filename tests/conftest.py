"""Fixtures shared by every tier.

``db_url`` is a fresh, migrated database for each test: on SQLite always, and on
PostgreSQL too when ``RMA_TEST_POSTGRES_URL`` is set. With ``CI=true`` a missing
PostgreSQL or Chromium fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from rma import migrate
from rma.db import Database, make_engine

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_URL = os.environ.get("RMA_TEST_POSTGRES_URL")


def need(condition: bool, what: str) -> None:
    """Skip when ``what`` is missing locally; fail in CI, where nothing may be skipped silently."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {what} is not available", pytrace=False)
    pytest.skip(f"{what} is not available")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the main file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def pg_template():
    need(bool(PG_URL), "PostgreSQL (RMA_TEST_POSTGRES_URL)")
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"rma_tpl_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield admin, name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _fresh_pg(request) -> str:
    admin, template = request.getfixturevalue("pg_template")
    name = f"rma_t_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    request.addfinalizer(drop)
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """A fresh database at the current schema revision."""
    if request.param == "sqlite":
        path = tmp_path / "rma.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return _fresh_pg(request)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db_url(request, tmp_path) -> str:
    """A fresh database with no schema at all."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite'}"
    need(bool(PG_URL), "PostgreSQL (RMA_TEST_POSTGRES_URL)")
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"rma_e_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    request.addfinalizer(drop)
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def db(db_url):
    database = Database.from_url(db_url)
    yield database
    database.dispose()


@pytest.fixture
def rma_env(tmp_path, db_url, monkeypatch) -> dict[str, str]:
    """Environment for running ``rma`` (in-process or as a subprocess) against ``db_url``."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("RMA_HOME", str(home))
    monkeypatch.setenv("RMA_DATABASE_URL", db_url)
    monkeypatch.delenv("RMA_USER", raising=False)
    return {**os.environ, "RMA_HOME": str(home), "RMA_DATABASE_URL": db_url}


@pytest.fixture(autouse=True, scope="session")
def _reuse_password_hashes():
    """Argon2 is slow on purpose (~0.2 s a hash here); tests hash the same few passwords
    over and over, so each distinct password is hashed once. Verifying stays real."""
    from argon2 import PasswordHasher

    from rma.core import services

    class HashOnce(PasswordHasher):
        cache: dict[str, str] = {}

        def hash(self, password, *, salt=None):  # noqa: A003
            if password not in self.cache:
                self.cache[password] = super().hash(password)
            return self.cache[password]

    real = services._hasher
    services._hasher = HashOnce()
    yield
    services._hasher = real
