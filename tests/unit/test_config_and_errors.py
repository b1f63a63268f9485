import socket
import stat

from rma import config
from rma.core.services import login_delay_seconds
from rma.errors import DomainError


def test_mask_url_hides_the_password():
    assert config.mask_url("postgresql+psycopg://rma:s3cret@db:5432/rma") == "postgresql+psycopg://rma:***@db:5432/rma"
    assert "s3cret" not in config.mask_url("weird://rma:s3cret@host:notaport/x")


def test_default_database_is_sqlite_in_rma_home(tmp_path, monkeypatch):
    monkeypatch.setenv("RMA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("RMA_DATABASE_URL", raising=False)
    assert config.database_url() == f"sqlite:///{tmp_path / 'data' / 'rma.sqlite'}"
    assert (tmp_path / "data").is_dir()


def test_session_secret_is_generated_private_and_stable(tmp_path, monkeypatch):
    monkeypatch.setenv("RMA_HOME", str(tmp_path))
    first = config.session_secret()
    assert len(first) >= 40 and first == config.session_secret()
    mode = (tmp_path / config.SECRET_FILE).stat().st_mode
    assert not mode & (stat.S_IRGRP | stat.S_IROTH)
    monkeypatch.setenv("RMA_HOME", str(tmp_path / "other"))
    assert config.session_secret() != first


def test_station_settings_from_rma_toml(tmp_path, monkeypatch):
    monkeypatch.setenv("RMA_HOME", str(tmp_path))
    host = socket.gethostname().split(".")[0]
    assert config.station_settings().name == host  # no rma.toml: the station is called by its machine's name
    (tmp_path / "rma.toml").write_text('[station]\nsession_idle_hours = 4\n')
    assert config.station_settings().name == host
    (tmp_path / "rma.toml").write_text('[station]\nname = "intake-1"\nsession_idle_hours = 4\n')
    s = config.station_settings()
    assert (s.name, s.session_idle_hours) == ("intake-1", 4.0)
    (tmp_path / "rma.toml").write_text("[station\n")
    try:
        config.station_settings()
    except DomainError as e:
        assert e.code == "bad_config" and "rma.toml" in e.message
    else:
        raise AssertionError("a broken rma.toml must be refused")


def test_domain_error_message_and_json():
    e = DomainError("illegal_transition", "visit {tag} cannot move from {a} to {b}", tag="R26-1", a="x", b="y")
    assert e.message == "visit R26-1 cannot move from x to y"
    assert e.as_json() == {"error": {"code": "illegal_transition", "message": e.message}}


def test_login_slow_down_grows_and_is_capped():
    assert [login_delay_seconds(n) for n in range(5)] == [0] * 5
    assert login_delay_seconds(5) == 5 and login_delay_seconds(6) == 10
    assert login_delay_seconds(40) == 300
