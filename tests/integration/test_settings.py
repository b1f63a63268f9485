"""Department settings: one value for every station, kept in the database, changed only by the
supervisor or the admin with its allowed range, every change in the audit log."""

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from rma.cli import main
from rma.core import catalogue, settings
from rma.core import services as core
from rma.core.models import AuditEntry
from rma.core.states import VisitState
from rma.errors import DomainError
from rma.intake import services as intake
from tests.factories import seed_basics

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def depot(db, rma_env):
    seed_basics(db)
    return db


def test_defaults_until_set_then_the_value_with_who_and_when(depot):
    with depot.uow(readonly=True) as uow:
        assert settings.value(uow, "repeat_window_days") == 90
        assert settings.value(uow, "safety_stock_factor") == 1.5
    with depot.uow() as uow:
        assert settings.set_value(uow, core.get_actor(uow, "boss"), "repeat_window_days", " 30 ") == {
            "key": "repeat_window_days", "value": 30, "was": 90}
    with depot.uow(readonly=True) as uow:
        assert settings.value(uow, "repeat_window_days") == 30
        row = next(r for r in settings.list_settings(uow) if r["key"] == "repeat_window_days")
        assert (row["value"], row["default"], row["changed_by"]) == (30, 90, "boss")
        audit = uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "setting_changed")).all()
        assert [(a.subject, a.details, a.actor.username) for a in audit] == [
            ("repeat_window_days", {"from": 90, "to": 30}, "boss")]


@pytest.mark.parametrize("raw", ["0", "10000", "9.5", "NaN", "inf", "", "ninety"])
def test_a_value_out_of_range_is_refused_with_the_range(depot, raw):
    with pytest.raises(DomainError) as e, depot.uow() as uow:
        settings.set_value(uow, core.get_actor(uow, "boss"), "repeat_window_days", raw)
    assert e.value.code == "bad_setting" and "from 1 to 3650" in e.value.message
    with depot.uow(readonly=True) as uow:
        assert settings.value(uow, "repeat_window_days") == 90


def test_only_the_supervisor_and_the_admin_change_settings(depot):
    for who in ("clerk", "lead", "tech"):
        with pytest.raises(DomainError) as e, depot.uow() as uow:
            settings.set_value(uow, core.get_actor(uow, who), "safety_stock_factor", "2")
        assert e.value.code == "forbidden"
    with depot.uow() as uow:
        settings.set_value(uow, core.get_actor(uow, "admin"), "safety_stock_factor", "2")


def _receive(db, serial, at, waybill):
    with db.uow(clock=lambda: at) as uow:
        clerk = core.get_actor(uow, "clerk")
        parcel, _ = intake.receive_parcel(uow, clerk, courier="SF", waybill=waybill, customer_code="SH-PD01")
        return intake.receive_unit(uow, clerk, parcel, serial).as_dict()


def test_intake_counts_a_repeat_by_the_department_window(depot):
    first = _receive(depot, "HU88000123", NOW - timedelta(days=60), "SF1111111111")
    with depot.uow(clock=lambda: NOW - timedelta(days=40)) as uow:
        lead = core.get_actor(uow, "lead")
        for to in ("awaiting_bench", "in_repair", "awaiting_test", "in_test", "passed"):
            core.move_visit(uow, lead, first["tag"], VisitState(to), "repaired")
        intake.ship_unit(uow, core.get_actor(uow, "clerk"), first["tag"], courier="SF", waybill="OUT000000001")
    with depot.uow() as uow:  # 40 days after it left: not a repeat with a 30-day window
        settings.set_value(uow, core.get_actor(uow, "boss"), "repeat_window_days", "30")
    assert _receive(depot, "HU88000123", NOW, "SF2222222222")["repeat_of"] is None


def test_cli_list_and_set(depot, capsys):
    assert main(["settings", "set", "count_variance_percent", "0.5", "--as", "boss", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"key": "count_variance_percent", "value": 0.5, "was": 0.3}
    assert main(["settings", "list", "--json"]) == 0
    rows = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["count_variance_percent"]["value"] == 0.5 and rows["count_every_months.A"]["value"] == 1
    assert main(["settings", "set", "repeat_window_days", "10000", "--as", "boss", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["error"]["code"] == "bad_setting" and "1 to 3650" in out["error"]["message"]


def test_a_station_still_setting_the_window_in_rma_toml_is_told(depot, rma_env):
    from pathlib import Path

    from rma.station.checks import check_station

    Path(rma_env["RMA_HOME"], "rma.toml").write_text("[intake]\nrepeat_window_days = 60\n", encoding="utf-8")
    codes = [p.code for p in check_station(use_fontconfig=False, font_candidates=[])]
    assert "setting_moved" in codes
    with depot.uow(readonly=True) as uow:  # and it is not what intake uses
        assert settings.value(uow, "repeat_window_days") == 90
        assert catalogue.get_model(uow, "HU-8800").code == "HU-8800"
