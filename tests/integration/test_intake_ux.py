"""What the intake pages ask of the services: the models closest to a serial no pattern knows, the
return reason recorded after intake, and a label that says where it went (service and CLI)."""

import json
from pathlib import Path

import pytest

from rma.cli import main
from rma.core import catalogue
from rma.core import services as core
from rma.core.states import VisitState
from rma.errors import DomainError
from rma.i18n import ZH
from rma.intake import labelling, services
from tests.factories import seed_basics


@pytest.fixture
def depot(db, rma_env):
    seed_basics(db)
    with db.uow() as uow:
        boss = core.get_actor(uow, "boss")
        catalogue.add_model(uow, boss, code="DC-220", name="行车记录仪 DC-220", family="dash_cam",
                            serial_pattern=r"^DC22\d{6}$", warranty_months=12)
        catalogue.add_model(uow, boss, code="HU-6200", name="Head unit 6200", family="head_unit",
                            serial_pattern=r"^HU62\d{6}$", warranty_months=24)
        catalogue.add_model(uow, boss, code="NV-520", name="Navigation 520", family="navigation",
                            serial_pattern=r"^NV52-?\d{6}$", warranty_months=24)
        services.add_reason(uow, boss, "NOPWR", "不开机 no power")
        services.add_reason(uow, boss, "NOSCR", "黑屏 no picture")
    return db


def receive(db, serial, waybill="SF1234567890", **kw):
    with db.uow() as uow:
        clerk = core.get_actor(uow, "clerk")
        parcel, _ = services.receive_parcel(uow, clerk, courier="SF", waybill=waybill, customer_code="SH-PD01")
        return services.receive_unit(uow, clerk, parcel, serial, **kw).visit.tag


# ---------------------------------------------------------------- the models closest to a serial

@pytest.mark.parametrize(("pattern", "prefix"), [
    (r"^HU88\d{6}$", "HU88"), (r"\ADC22\d{6}\Z", "DC22"), (r"^NV52-?\d{6}$", "NV52"),
    (r"^IC7\.0\d+$", "IC7.0"), (r"^GW3X?\d{8}$", "GW3"), (r"^(HU|NV)\d+$", ""), (r"^AB\d+|^CD\d+", ""),
])
def test_the_fixed_start_of_a_serial_pattern(pattern, prefix):
    assert catalogue.literal_prefix(pattern) == prefix


def test_a_mistyped_serial_lists_the_model_it_was_meant_for_first(depot):
    with depot.uow(readonly=True) as uow:
        guesses = catalogue.closest_models(uow, "HU8825301234")  # one digit too many for HU-8800
    assert [g["code"] for g in guesses] == ["HU-8800", "HU-6200", "DC-220", "NV-520"]
    assert guesses[0]["shared"] == 4 and guesses[0]["prefix"] == "HU88" and not guesses[0]["matches"]
    assert guesses[1]["shared"] == 2 and guesses[-1]["shared"] == 0


def test_models_whose_pattern_matches_come_before_the_merely_close(depot):
    with depot.uow(readonly=True) as uow:
        guesses = catalogue.closest_models(uow, "dc22000123")
    assert guesses[0]["code"] == "DC-220" and guesses[0]["matches"]
    assert not any(g["matches"] for g in guesses[1:])


# ---------------------------------------------------------------- the return reason after intake

def test_a_reason_recorded_after_intake_is_a_ledger_event_and_shows_in_the_ledger(depot):
    tag = receive(depot, "HU88000123")
    with depot.uow() as uow:
        services.set_return_reason(uow, core.get_actor(uow, "clerk"), tag, reason_code="noscr", text="冷车黑屏")
    with depot.uow(readonly=True) as uow:
        report = core.unit_report(uow, tag)
        summary = services.intake_summary(uow, core.find_visit(uow, tag))
        row = services.list_visits(uow, services.VisitFilter())[0]
    assert report["visits"][0]["return_reason"] == "黑屏 no picture — 冷车黑屏"
    assert summary["reason_code"] == "NOSCR" and row["reason"] == "黑屏 no picture — 冷车黑屏"
    event = report["timeline"][-1]
    assert event["event"] == "reason_recorded" and event["actor"] == "clerk"
    assert event["details"] == {"reason_code": "NOSCR", "reason": "黑屏 no picture — 冷车黑屏"}

    with depot.uow(readonly=True) as uow:  # the form on the unit page starts from the reason as it stands
        assert services.return_reason_of(uow, core.find_visit(uow, tag)) == ("NOSCR", "冷车黑屏")
    with depot.uow() as uow:  # the same reason again: nothing new in the ledger
        services.set_return_reason(uow, core.get_actor(uow, "lead"), tag, reason_code="NOSCR", text="冷车黑屏")
    with depot.uow(readonly=True) as uow:
        assert [e["event"] for e in core.unit_report(uow, tag)["timeline"]].count("reason_recorded") == 1


def test_the_return_reason_is_refused_when_closed_unknown_empty_or_not_a_clerks(depot):
    tag = receive(depot, "HU88000124")
    with depot.uow() as uow:
        lead = core.get_actor(uow, "lead")
        core.move_visit(uow, lead, tag, VisitState.SCRAPPED, "water damage")

    def attempt(user, tag=tag, **kw):
        with pytest.raises(DomainError) as caught, depot.uow() as uow:
            services.set_return_reason(uow, core.get_actor(uow, user), tag, **kw)
        return caught.value

    assert attempt("clerk", reason_code="NOPWR").code == "visit_closed"
    open_tag = receive(depot, "HU88000125", waybill="SF1234567891")
    assert attempt("clerk", open_tag).code == "reason_required"
    assert attempt("clerk", open_tag, reason_code="NOSUCH").code == "unknown_reason"
    assert attempt("clerk", open_tag, text="x" * 501).code == "reason_too_long"
    assert attempt("tech", open_tag, reason_code="NOPWR").code == "forbidden"


def test_rma_visit_reason(depot, capsys):
    tag = receive(depot, "HU88000126")
    code = main(["--as", "lead", "visit", "reason", tag, "--reason", "NOPWR", "--text", "雨天不开机", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out) == {"tag": tag, "reason_code": "NOPWR", "reason": "不开机 no power — 雨天不开机"}
    code = main(["--as", "tech", "visit", "reason", tag, "--text", "雨天不开机"])
    out, err = capsys.readouterr()
    assert code == 1 and err.startswith("rma: ") and "Traceback" not in err


# ---------------------------------------------------------------- where a label went

def test_a_label_for_a_folder_says_the_file_it_was_saved_to(depot, rma_env):
    tag = receive(depot, "HU88000127")
    with depot.uow() as uow:
        job = labelling.reprint_unit_label(uow, core.get_actor(uow, "clerk"), tag).id
    result = labelling.print_job(depot, job)
    assert result["status"] == "printed" and result["outcome"] == "saved"
    saved = Path(result["file"])
    assert saved.is_file() and saved.parent == Path(rma_env["RMA_HOME"], "printed-labels")
    assert labelling.outcome_text(result) == f"Label saved to {saved}"


def test_a_printer_that_is_off_leaves_the_label_queued_and_says_how_to_retry(depot, rma_env):
    import socket

    with socket.socket() as s:  # a port nobody listens on: the printer is off
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    Path(rma_env["RMA_HOME"], "rma.toml").write_text(
        f'[printer]\nkind = "tcp"\nhost = "127.0.0.1"\nport = {port}\nformat = "zpl"\n', encoding="utf-8")
    tag = receive(depot, "HU88000128")
    with depot.uow() as uow:
        job = labelling.reprint_unit_label(uow, core.get_actor(uow, "clerk"), tag).id
    result = labelling.print_job(depot, job)
    assert result["status"] == "failed" and result["outcome"] == "queued"
    text = labelling.outcome_text(result)
    assert text.startswith("Label not printed, still queued: ") and f"127.0.0.1:{port}" in text
    assert "rma label queue --retry" in text


def test_the_cli_says_where_the_labels_went(depot, rma_env, capsys):
    code = main(["--as", "clerk", "intake", "receive", "--waybill", "SF1000000009", "--courier", "SF",
                 "--customer", "SH-PD01", "--serial", "HU88000129"])
    out, err = capsys.readouterr()
    assert code == 0, err
    folder = Path(rma_env["RMA_HOME"], "printed-labels")
    assert f"Label saved to {folder}" in out and "label printed" not in out.lower()
    tag = out.split(" -> ")[1].split()[0]
    code = main(["--as", "clerk", "label", "print", tag])
    out, err = capsys.readouterr()
    assert code == 0 and out.startswith(f"{tag}: Label saved to {folder}")


def test_every_label_sentence_has_chinese():
    assert all(t in ZH for t in labelling.OUTCOME_TEMPLATES)
