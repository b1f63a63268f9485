"""Courier intake as the logistics clerk does it: parcels, serials, warranty, repeats, interceptions."""

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from rma.core import catalogue, services as core
from rma.core.models import Unit
from rma.core.states import VisitState
from rma.errors import DomainError
from rma.intake import services
from rma.intake.models import Warranty
from tests.factories import seed_basics

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def depot(db, rma_env):
    seed_basics(db)
    with db.uow() as uow:
        boss = core.get_actor(uow, "boss")
        catalogue.add_model(uow, boss, code="DC-220", name="行车记录仪 DC-220", family="dash_cam",
                            serial_pattern=r"^DC22\d{6}$", warranty_months=12, accessories=["suction mount", "microSD"])
        catalogue.add_model(uow, boss, code="DC-220X", name="DC-220 export", family="dash_cam",
                            serial_pattern=r"^DC22[0-4]\d{5}$", warranty_months=12)
        catalogue.add_customer(uow, boss, code="GZ-TH02", name="广州天河汽车服务有限公司", region="华南")
        services.add_reason(uow, boss, "NOPWR", "不开机 no power")
    return db


def _clock(at):
    return lambda: at


def receive(db, serial, waybill="SF1234567890", customer="SH-PD01", at=NOW, **kw):
    with db.uow(clock=_clock(at)) as uow:
        clerk = core.get_actor(uow, "clerk")
        parcel, _ = services.receive_parcel(uow, clerk, courier="SF", waybill=waybill, customer_code=customer,
                                            declared=kw.pop("declared", None))
        return services.receive_unit(uow, clerk, parcel, serial, **kw).as_dict()


def test_a_scan_opens_a_visit_with_model_warranty_and_reason(depot):
    with depot.uow() as uow:
        uow.session.scalar(select(Unit)) is None
    r = receive(depot, " hu88000123 ", reason_code="nopwr", reason_text="冷车不开机", accessories=["harness"])
    assert r["created"] and r["model"] == "HU-8800" and r["serial"] == "HU88000123"
    assert r["tag"].startswith("R26-") and r["state"] == "received"
    assert r["warranty"] == "unknown" and r["warranty_until"] is None  # nothing known about this unit yet
    with depot.uow(readonly=True) as uow:
        report = core.unit_report(uow, r["tag"])
    assert report["visits"][0]["return_reason"] == "不开机 no power — 冷车不开机"
    assert report["timeline"][0]["details"]["accessories"] == ["harness"]


def test_the_same_serial_twice_in_one_parcel_gives_the_same_tag(depot):
    first = receive(depot, "HU88000123")
    again = receive(depot, "HU88000123")
    assert again["tag"] == first["tag"] and again["created"] is False
    with depot.uow(readonly=True) as uow:
        assert len(core.unit_report(uow, "HU88000123")["visits"]) == 1


def test_a_unit_open_in_another_parcel_is_refused(depot):
    first = receive(depot, "HU88000123")
    with pytest.raises(DomainError) as e:
        receive(depot, "HU88000123", waybill="SF999999999")
    assert e.value.code == "unit_already_open" and first["tag"] in e.value.message and "received" in e.value.message


def test_model_from_pattern_or_picked_by_the_clerk(depot):
    with pytest.raises(DomainError) as e:
        receive(depot, "XX12345678")
    assert e.value.code == "unknown_serial_format"
    with pytest.raises(DomainError) as e:
        receive(depot, "DC22012345")
    assert e.value.code == "model_ambiguous" and "DC-220" in e.value.message and "DC-220X" in e.value.message
    assert receive(depot, "DC22912345")["model"] == "DC-220"
    picked = receive(depot, "DC22012345", model_code="DC-220X")
    assert picked["model"] == "DC-220X"
    with depot.uow(readonly=True) as uow:
        details = core.unit_report(uow, picked["tag"])["timeline"][0]["details"]
    assert details["model_chosen"] == "DC-220X" and set(details["candidates"]) == {"DC-220", "DC-220X"}


@pytest.mark.parametrize("sold,made,expected,until", [
    (date(2025, 1, 10), None, "in", "2027-01-10"),
    (date(2024, 10, 1), None, "out", "2026-10-01"),
    (None, date(2025, 6, 30), "in", "2027-06-30"),
    (None, None, "unknown", None),
])
def test_warranty_from_sale_or_manufacture_date(depot, sold, made, expected, until):
    with depot.uow() as uow:
        model = catalogue.get_model(uow, "HU-8800")
        uow.session.add(Unit(serial="HU88000777", model=model, sold_on=sold, manufactured_on=made, created_at=NOW))
    r = receive(depot, "HU88000777")
    assert (r["warranty"], r["warranty_until"]) == (expected, until)


def test_warranty_month_arithmetic():
    assert services.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert services.decide_warranty(sold_on=date(2024, 2, 29), manufactured_on=None, months=12,
                                    received_on=date(2025, 2, 28)) == (Warranty.IN, date(2025, 2, 28), "sold")


def _repair_and_ship(db, tag, at):
    with db.uow(clock=_clock(at)) as uow:
        lead = core.get_actor(uow, "lead")
        for to in ("awaiting_bench", "in_repair", "awaiting_test", "in_test", "passed"):
            core.move_visit(uow, lead, tag, VisitState(to), "repaired")
    with db.uow(clock=_clock(at)) as uow:
        services.ship_unit(uow, core.get_actor(uow, "clerk"), tag, courier="SF", waybill=f"OUT{tag[-6:]}00")


def test_repeat_return_within_the_window_names_the_earlier_visit(depot):
    first = receive(depot, "HU88000123", at=NOW - timedelta(days=60))
    _repair_and_ship(depot, first["tag"], NOW - timedelta(days=50))
    again = receive(depot, "HU88000123", waybill="SF2222222222")
    assert again["repeat_of"] == first["tag"]
    listed = {r["tag"]: r for r in _visits(depot, repeat=True)}
    assert set(listed) == {again["tag"]}


def test_no_repeat_after_the_window(depot):
    first = receive(depot, "HU88000123", at=NOW - timedelta(days=200))
    _repair_and_ship(depot, first["tag"], NOW - timedelta(days=120))
    assert receive(depot, "HU88000123", waybill="SF2222222222")["repeat_of"] is None


def _visits(db, **kw):
    with db.uow(readonly=True) as uow:
        return services.list_visits(uow, services.VisitFilter(**kw))


def test_interceptions_raise_alerts_that_stay_on_the_visit(depot):
    with depot.uow() as uow:
        boss = core.get_actor(uow, "boss")
        services.add_interception(uow, boss, model_code="HU-8800", serial_from="HU88000100", serial_to="HU88000199",
                                  action="更换电源IC U12 (ECN-2291)")
        services.add_interception(uow, boss, model_code="HU-8800", made_from=date(2025, 3, 1), made_to=date(2025, 3, 31),
                                  action="check the flash batch")
        services.add_interception(uow, boss, model_code="HU-8800", firmware="3.1.0", action="reflash to 3.2.1")
        model = catalogue.get_model(uow, "HU-8800")
        uow.session.add(Unit(serial="HU88000150", model=model, manufactured_on=date(2025, 3, 15),
                             firmware_version="3.1.0", created_at=NOW))
    hit = receive(depot, "HU88000150")
    assert sorted(i["kind"] for i in hit["interceptions"]) == ["firmware", "made_range", "serial_range"]
    assert receive(depot, "HU88000250")["interceptions"] == []
    with pytest.raises(DomainError) as e, depot.uow() as uow:
        services.add_interception(uow, core.get_actor(uow, "clerk"), model_code="HU-8800", firmware="1", action="x")
    assert e.value.code == "forbidden"
    assert [r["tag"] for r in _visits(depot, intercepted=True)] == [hit["tag"]]


def test_closing_a_parcel_records_short_delivery_and_hands_units_to_the_bench(depot):
    receive(depot, "HU88000001", declared=3)
    receive(depot, "HU88000002")
    with depot.uow() as uow:
        parcel = services.close_parcel(uow, core.get_actor(uow, "clerk"), "sf1234567890")
        assert (parcel.declared_count, parcel.scanned_count, parcel.discrepancy) == (3, 2, "short")
    with depot.uow(readonly=True) as uow:
        report = services.parcel_report(uow, "SF1234567890")
        assert report["discrepancy"] == "short" and report["closed_by"] == "clerk"
        assert {u["state"] for u in report["units"]} == {"awaiting_bench"}
    with pytest.raises(DomainError) as e:
        receive(depot, "HU88000003")
    assert e.value.code == "parcel_closed"


def test_a_waybill_from_another_sender_is_refused(depot):
    receive(depot, "HU88000001")
    with pytest.raises(DomainError) as e:
        receive(depot, "HU88000002", customer="GZ-TH02")
    assert e.value.code == "waybill_other_sender" and "SH-PD01" in e.value.message


@pytest.mark.parametrize("bad", ["", "   ", "HU8800\x1b0001", "A" * 500, "半个条码", "]C0"])
def test_garbled_serials_are_refused_and_nothing_is_created(depot, bad):
    with pytest.raises(DomainError) as e:
        receive(depot, bad)
    assert e.value.code in {"bad_serial", "unknown_serial_format"}
    with depot.uow(readonly=True) as uow:
        assert uow.session.scalar(select(Unit)) is None


def test_unknown_customer(depot):
    with pytest.raises(DomainError) as e:
        receive(depot, "HU88000001", customer="NOPE")
    assert e.value.code == "unknown_customer"


def test_shipping_closes_a_passed_visit_and_courier_costs_add_up(depot):
    tag = receive(depot, "HU88000123")["tag"]
    with depot.uow() as uow:
        with pytest.raises(DomainError) as e:
            services.ship_unit(uow, core.get_actor(uow, "clerk"), tag, courier="SF", waybill="OUT0000001")
        assert e.value.code == "not_ready_to_ship"
    _repair_and_ship(depot, tag, NOW + timedelta(days=1))
    with depot.uow(readonly=True) as uow:
        report = core.unit_report(uow, tag)
        assert report["state"] == "shipped" and report["open_visit"] is None
    month = (NOW + timedelta(days=1)).strftime("%Y-%m")
    with depot.uow() as uow:
        clerk = core.get_actor(uow, "clerk")
        p, _ = services.receive_parcel(uow, clerk, courier="ZTO", waybill="ZT88880001", customer_code="GZ-TH02", cost="18.5")
    with depot.uow(readonly=True) as uow:
        costs = services.courier_costs(uow, datetime.now(timezone.utc).strftime("%Y-%m"))
    assert any(r["courier"] == "ZTO" and r["direction"] == "in" and r["cost"] == "18.50" for r in costs["by_courier"])
    assert month


def test_attachments_are_kept_by_sha256_with_a_thumbnail(depot, rma_env):
    import hashlib
    import io
    from pathlib import Path

    from PIL import Image

    receive(depot, "HU88000001")
    buf = io.BytesIO()
    Image.new("RGB", (1200, 800), "white").save(buf, "PNG")
    data = buf.getvalue()
    with depot.uow() as uow:
        att = services.attach_to_parcel(uow, core.get_actor(uow, "clerk"), "SF1234567890", filename="waybill.png", data=data)
        sha = att.sha256
    assert sha == hashlib.sha256(data).hexdigest()
    stored = Path(rma_env["RMA_HOME"]) / "attachments" / sha[:2] / sha
    assert stored.read_bytes() == data
    with Image.open(services.attachment_file(sha, thumbnail=True)) as thumb:
        assert max(thumb.size) <= 320
    with pytest.raises(DomainError) as e, depot.uow() as uow:
        services.attach_to_parcel(uow, core.get_actor(uow, "clerk"), "SF1234567890", filename="x.png", data=b"garbage")
    assert e.value.code == "not_an_image"


def test_accessories_are_ticked_after_the_scan_and_kept_in_the_ledger(depot):
    tag = receive(depot, "HU88000123")["tag"]
    with depot.uow() as uow:
        assert services.record_accessories(uow, core.get_actor(uow, "clerk"), tag, ["harness"]) == ["harness"]
    with depot.uow() as uow:
        with pytest.raises(DomainError) as e:
            services.record_accessories(uow, core.get_actor(uow, "clerk"), tag, ["cigarette lighter"])
    assert e.value.code == "unknown_accessory"
    with depot.uow(readonly=True) as uow:
        timeline = core.unit_report(uow, tag)["timeline"]
    assert timeline[-1]["event"] == "accessories_checked"
    assert timeline[-1]["details"] == {"accessories": ["harness"], "missing": ["bracket"]}


def test_open_parcels_and_courier_guess(depot):
    receive(depot, "HU88000001", declared=2)
    with depot.uow(readonly=True) as uow:
        parcels = services.open_parcels(uow)
    assert [(p["waybill"], p["declared"], p["scanned"]) for p in parcels] == [("SF1234567890", 2, 1)]
    assert services.guess_courier("sf1234567890123") == "SF"
    assert services.guess_courier("JD0012345678901") == "JD"
    assert services.guess_courier("123") is None


def test_a_stock_unit_leaves_only_to_a_named_customer_and_only_once(depot):
    tag = receive(depot, "HU88000321")["tag"]
    with depot.uow() as uow:
        lead = core.get_actor(uow, "lead")
        for to in ("awaiting_bench", "in_repair", "awaiting_test", "in_test", "passed", "refurbished"):
            core.move_visit(uow, lead, tag, VisitState(to), "refurbish")
    with depot.uow() as uow:
        clerk = core.get_actor(uow, "clerk")
        with pytest.raises(DomainError) as e:
            services.ship_unit(uow, clerk, tag, courier="JD", waybill="JD0000000000001")
        assert e.value.code == "customer_required"
    with depot.uow() as uow:
        clerk = core.get_actor(uow, "clerk")
        # the outbound parcel was opened for another unit before this one joined it
        services.ship_unit(uow, clerk, tag, courier="JD", waybill="JD0000000000001", customer_code="GZ-TH02")
    with depot.uow() as uow:
        with pytest.raises(DomainError) as e:
            services.ship_unit(uow, core.get_actor(uow, "clerk"), tag, courier="SF", waybill="SF0000000000009",
                               customer_code="GZ-TH02")
        assert e.value.code == "already_shipped"
    with depot.uow(readonly=True) as uow:
        timeline = core.unit_report(uow, tag)["timeline"]
        assert timeline[-1]["event"] == "left_depot" and timeline[-1]["details"]["customer"] == "GZ-TH02"
        from rma.core.checks import check_ledgers
        assert check_ledgers(uow) == []
