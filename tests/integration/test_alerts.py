"""Interception alerts on a visit: marked done with what was done, or waived by the lead with
why; where each stands is read from the returns ledger, and the timeline says it in words."""

from datetime import date

import pytest

from rma.core import catalogue
from rma.core import services as core
from rma.errors import DomainError
from rma.intake import services as intake
from rma.sentences import entry_sentence
from tests.factories import seed_basics


@pytest.fixture
def intercepted(db, rma_env):
    seed_basics(db)
    with db.uow() as uow:
        boss = core.get_actor(uow, "boss")
        intake.add_interception(uow, boss, model_code="HU-8800", serial_from="HU88000000", serial_to="HU88009999",
                                action="更换电源IC U12")
        intake.add_interception(uow, boss, model_code="HU-8800", made_from=date(2020, 1, 1), made_to=date(2030, 1, 1),
                                action="检查背光")
        catalogue.get_model(uow, "HU-8800")
    with db.uow() as uow:
        clerk = core.get_actor(uow, "clerk")
        parcel, _ = intake.receive_parcel(uow, clerk, courier="SF", waybill="SF1234567890", customer_code="SH-PD01")
        unit = intake.receive_unit(uow, clerk, parcel, "HU88000042")
        unit.visit.unit.manufactured_on = date(2025, 1, 1)
        return db, unit.visit.tag


def states(db, tag):
    with db.uow(readonly=True) as uow:
        return [(a["action"], a["status"], a["by"]) for a in intake.alert_states(uow, core.find_visit(uow, tag))]


def test_done_and_waived_with_who_and_what(intercepted):
    db, tag = intercepted
    with db.uow(readonly=True) as uow:
        first = intake.alert_states(uow, core.find_visit(uow, tag))[0]["id"]
    assert states(db, tag) == [("更换电源IC U12", "open", None)]
    with db.uow() as uow:
        done = intake.resolve_alert(uow, core.get_actor(uow, "tech"), tag, first, note="已更换 U12（新批次 D2411）")
    assert done["status"] == "done" and done["by"] == "tech"
    assert states(db, tag) == [("更换电源IC U12", "done", "tech")]
    with pytest.raises(DomainError) as e, db.uow() as uow:
        intake.resolve_alert(uow, core.get_actor(uow, "lead"), tag, first, note="again", waive=True)
    assert e.value.code == "alert_resolved" and "tech" in e.value.message
    with db.uow(readonly=True) as uow:
        timeline = core.unit_report(uow, tag)["timeline"]
    words = entry_sentence(timeline[-1], lang="en")
    assert "更换电源IC U12" in words and "已更换 U12" in words and "{" not in words


def test_only_the_lead_waives_and_every_resolution_says_why(intercepted):
    db, tag = intercepted
    with db.uow(readonly=True) as uow:
        alert = intake.alert_states(uow, core.find_visit(uow, tag))[0]["id"]
    with pytest.raises(DomainError) as e, db.uow() as uow:
        intake.resolve_alert(uow, core.get_actor(uow, "tech"), tag, alert, note="not needed", waive=True)
    assert e.value.code == "forbidden"
    for note in ("", "   ", "\x1b[31mred"):
        with pytest.raises(DomainError) as e, db.uow() as uow:
            intake.resolve_alert(uow, core.get_actor(uow, "lead"), tag, alert, note=note, waive=True)
        assert e.value.code in {"text_required", "bad_text"}
    with pytest.raises(DomainError) as e, db.uow() as uow:
        intake.resolve_alert(uow, core.get_actor(uow, "lead"), tag, 999, note="x")
    assert e.value.code == "unknown_alert"
    with db.uow() as uow:
        intake.resolve_alert(uow, core.get_actor(uow, "lead"), tag, alert, note="U12 已是新批次，无需更换", waive=True)
    assert states(db, tag) == [("更换电源IC U12", "waived", "lead")]
