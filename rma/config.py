"""Settings, read in one place: the environment, then ``RMA_HOME/rma.toml``, then defaults.

``RMA_HOME``          data folder (default ``./rma-data``)
``RMA_DATABASE_URL``  SQLAlchemy URL (default: ``sqlite:///RMA_HOME/rma.sqlite``)
``RMA_USER``          the user the CLI acts as when ``--as`` is not given
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from rma.errors import DomainError

DEFAULT_HOME = "rma-data"
SECRET_FILE = "session-secret"
STATION_FILE = "rma.toml"


PRIVATE_DIR = 0o700  # RMA_HOME, its UI storage and attachments: the station's user only
PRIVATE_FILE = 0o600  # the SQLite database (password hashes), the session secret


def rma_home() -> Path:
    """The data folder; created on first use, readable by this user only."""
    home = Path(os.environ.get("RMA_HOME") or DEFAULT_HOME).expanduser().resolve()
    if not home.is_dir():
        home.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return home


def _private(path: Path, mode: int) -> None:
    """Tighten the mode of something of ours; a file owned by someone else is left as it is."""
    try:
        if path.exists() and (path.stat().st_mode & 0o777) != mode:
            path.chmod(mode)
    except OSError:
        pass


def private_dir(path: Path) -> Path:
    """A folder under RMA_HOME that only this user may read (created or tightened)."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    _private(path, PRIVATE_DIR)
    return path


def private_database_file(path: Path) -> None:
    """An SQLite database holds the password hashes: created 0600, an existing one (and its
    -wal and -shm, which SQLite creates with the database's own mode) tightened to 0600."""
    if not path.exists():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
        except OSError:
            return  # a missing folder: SQLite says so in its own words
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        _private(p, PRIVATE_FILE)


def private_umask() -> None:
    """From here on, what this process creates (the web app's session files) is its user's only."""
    os.umask(0o077)


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
    printer: dict = field(default_factory=dict)  # [printer] table: see labels.printer_from_settings
    scanner: dict = field(default_factory=dict)  # [scanner] table: kind = "wedge" | "serial"
    behind_proxy: bool = False  # [station] behind_proxy: trust X-Forwarded-Proto from a TLS proxy
    raw: dict = field(default_factory=dict)


STATION_NAME_MAX = 64  # the station column of the test and label tables
MAX_CONFIG_BYTES = 1024 * 1024

# rma.toml is read once per process and again only when the file changes (mtime, size, inode),
# so editing it on a running station still takes effect at the next scan or print.
_settings_cache: dict[Path, tuple[tuple[int, int, int], StationSettings]] = {}
_settings_lock = threading.Lock()


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """What changes when a file is edited or replaced; None when it is not there."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


def station_settings() -> StationSettings:
    path = rma_home() / STATION_FILE
    stamp = file_stamp(path)
    if stamp is None:
        return StationSettings()
    with _settings_lock:
        cached = _settings_cache.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    settings = _read_station_settings(path)
    with _settings_lock:
        _settings_cache[path] = (stamp, settings)
    return settings


def _read_station_settings(path: Path) -> StationSettings:
    def bad(reason: str) -> DomainError:
        return DomainError("bad_config", "{path}: {reason}", path=str(path), reason=reason)

    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise bad(f"larger than {MAX_CONFIG_BYTES // 1024} KB")
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DomainError("bad_config", "{path} is not valid TOML: {reason}", path=str(path), reason=str(exc)) from None
    except RecursionError:
        raise bad("nested too deep") from None
    except OSError as exc:
        raise bad(f"cannot read it: {exc.strerror}") from None
    station = data.get("station", {})
    intake = data.get("intake", {})
    try:
        for table, value in (("station", station), ("intake", intake), ("printer", data.get("printer", {})),
                             ("scanner", data.get("scanner", {}))):
            if not isinstance(value, dict):
                raise bad(f"[{table}] must be a table")
        name = station.get("name") or host_name()
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > STATION_NAME_MAX \
                or not name.isprintable():
            raise bad(f"[station] name must be a text of 1 to {STATION_NAME_MAX} printable characters")
        behind_proxy = station.get("behind_proxy", False)
        if not isinstance(behind_proxy, bool):
            raise bad("[station] behind_proxy must be true or false")
        idle = float(station.get("session_idle_hours", 12.0))
        if not 0 <= idle <= 24 * 365:
            raise bad("session_idle_hours is out of range")
        return StationSettings(
            name=name.strip(), session_idle_hours=idle,
            printer=dict(data.get("printer", {})), scanner=dict(data.get("scanner", {})),
            behind_proxy=behind_proxy, raw=data,
        )
    except (TypeError, ValueError, OverflowError) as exc:
        raise bad(str(exc)) from None


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
    _private(path, PRIVATE_FILE)
    return path.read_text().strip()


def attachments_path() -> Path:
    return private_dir(rma_home() / "attachments")


def firmware_path() -> Path:
    """The firmware registry's files, each named by its SHA-256."""
    return private_dir(rma_home() / "firmware")


def ui_storage_path() -> Path:
    return private_dir(rma_home() / "ui-storage")
