"""Settings, read in one place: the environment, then ``RMA_HOME/rma.toml``, then defaults.

``RMA_HOME``          data folder (default ``./rma-data``)
``RMA_DATABASE_URL``  SQLAlchemy URL (default: ``sqlite:///RMA_HOME/rma.sqlite``)
``RMA_USER``          the user the CLI acts as when ``--as`` is not given
"""

from __future__ import annotations

import os
import secrets
import socket
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from rma.errors import DomainError

DEFAULT_HOME = "rma-data"
SECRET_FILE = "session-secret"
STATION_FILE = "rma.toml"


def rma_home() -> Path:
    """The data folder; created on first use."""
    home = Path(os.environ.get("RMA_HOME") or DEFAULT_HOME).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def database_url() -> str:
    url = os.environ.get("RMA_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{rma_home() / 'rma.sqlite'}"


def mask_url(url: str) -> str:
    """The URL with its password hidden, for messages; never fails, even on garbage."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        if "@" in url and "://" in url:
            scheme, rest = url.split("://", 1)
            return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
        return url


def cli_user() -> str | None:
    return os.environ.get("RMA_USER") or None


def host_name() -> str:
    """This machine's name without its domain: the station's name unless rma.toml gives one."""
    return socket.gethostname().split(".")[0].strip() or "station"


@dataclass(frozen=True)
class StationSettings:
    """Per-station settings from ``RMA_HOME/rma.toml`` (later areas add their own tables)."""

    name: str = field(default_factory=host_name)
    session_idle_hours: float = 12.0
    repeat_window_days: int = 90  # a unit back within this many days of leaving is a repeat repair
    printer: dict = field(default_factory=dict)  # [printer] table: see labels.printer_from_settings
    scanner: dict = field(default_factory=dict)  # [scanner] table: kind = "wedge" | "serial"
    raw: dict = field(default_factory=dict)


def station_settings() -> StationSettings:
    path = rma_home() / STATION_FILE
    if not path.exists():
        return StationSettings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DomainError("bad_config", "{path} is not valid TOML: {reason}", path=str(path), reason=str(exc))
    station = data.get("station", {})
    intake = data.get("intake", {})
    try:
        return StationSettings(
            name=str(station.get("name") or host_name()),
            session_idle_hours=float(station.get("session_idle_hours", 12.0)),
            repeat_window_days=int(intake.get("repeat_window_days", 90)),
            printer=dict(data.get("printer", {})),
            scanner=dict(data.get("scanner", {})),
            raw=data,
        )
    except (TypeError, ValueError) as exc:
        raise DomainError("bad_config", "{path}: {reason}", path=str(path), reason=str(exc)) from None


def session_secret() -> str:
    """The web session secret: generated into RMA_HOME on first start, never a constant."""
    path = rma_home() / SECRET_FILE
    if not path.exists():
        tmp = path.with_name(f".{SECRET_FILE}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)  # atomic: two stations starting at once agree on one secret
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def attachments_path() -> Path:
    path = rma_home() / "attachments"
    path.mkdir(parents=True, exist_ok=True)
    return path


def ui_storage_path() -> Path:
    path = rma_home() / "ui-storage"
    path.mkdir(parents=True, exist_ok=True)
    return path
