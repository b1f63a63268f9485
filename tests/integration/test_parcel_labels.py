"""The parcel labels the clerk sticks on: a received parcel names its sender and the counts,
a parcel sent out names the customer it goes to and this station as the sender."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from labels import load_template, render, to_png
from labels.template import TextElement
from rma.core import catalogue
from rma.core import services as core
from rma.core.states import VisitState
from rma.intake import labelling, services
from rma.intake.models import LabelJob
from tests.conftest import need
from tests.factories import seed_basics

INTAKE_WORDS = ("申报", "实收", "→", "declared", "scanned")


@pytest.fixture
def depot(db, rma_env):
    Path(rma_env["RMA_HOME"], "rma.toml").write_text('[station]\nname = "发货台-2"\n', encoding="utf-8")
    seed_basics(db)
    with db.uow() as uow:
        catalogue.add_customer(uow, core.get_actor(uow, "boss"), code="4S-GD-GZ01", name="广州天河粤宝汽车销售服务有限公司",
                               region="华南", contact="陈志鹏 135-6033-8126")
    return db


def decoded(tmp_path, png: bytes) -> str:
    need(shutil.which("zbarimg") is not None, "zbarimg (zbar-tools)")
    path = tmp_path / "label.png"
    path.write_bytes(png)
    out = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Scode128.enable", str(path)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def printed_words(template: str, fields: dict) -> str:
    """Every text the template puts on the label, filled in with the job's fields."""
    values = {name: str(fields.get(name, "")) for name in load_template(template).fields}
    return " ".join(e.text.format_map(values) for e in load_template(template).elements if isinstance(e, TextElement))


def test_a_received_parcel_and_a_parcel_sent_back_get_their_own_labels(depot, tmp_path):
    with depot.uow() as uow:
        clerk = core.get_actor(uow, "clerk")
        parcel, _ = services.receive_parcel(uow, clerk, courier="SF", waybill="SF1402345678901",
                                            customer_code="4S-GD-GZ01", declared=2)
        tag = services.receive_unit(uow, clerk, parcel, "HU88000123").visit.tag
        inbound_job = labelling.queue_parcel_label(uow, clerk, parcel).id
    with depot.uow() as uow:
        lead = core.get_actor(uow, "lead")
        for to in ("awaiting_bench", "in_repair", "awaiting_test", "in_test", "passed"):
            core.move_visit(uow, lead, tag, VisitState(to), "repaired")
    with depot.uow() as uow:
        clerk = core.get_actor(uow, "clerk")
        shipped = services.ship_unit(uow, clerk, tag, courier="JD", waybill="JDX000123456789", cost="12")
        outbound_job = labelling.queue_parcel_label(uow, clerk, shipped.parcel).id

    with depot.uow(readonly=True) as uow:
        inbound = uow.session.get(LabelJob, inbound_job)
        outbound = uow.session.get(LabelJob, outbound_job)
        jobs = {"in": (inbound.template, dict(inbound.fields)), "out": (outbound.template, dict(outbound.fields))}

    template, fields = jobs["in"]
    assert template == "parcel"
    assert (fields["sender"], fields["declared"], fields["scanned"]) == ("广州天河粤宝汽车销售服务有限公司", 2, 1)
    assert fields["mismatch"] is True
    words = printed_words(template, fields)
    assert "寄件 广州天河粤宝汽车销售服务有限公司" in words and "申报 2 件 / 实收 1 件" in words
    for dpi in (203, 300):
        assert decoded(tmp_path, to_png(render(template, fields, dpi))) == "SF1402345678901"

    template, fields = jobs["out"]
    assert template == "parcel_out"
    assert fields["recipient"] == "广州天河粤宝汽车销售服务有限公司" and fields["customer"] == "4S-GD-GZ01"
    assert fields["contact"] == "陈志鹏 135-6033-8126" and fields["count"] == 1
    assert fields["sender"] == "发货台-2" and fields["courier"] == "JD"
    words = printed_words(template, fields)
    assert "收件 广州天河粤宝汽车销售服务有限公司" in words and "寄件 发货台-2" in words and "共 1 件" in words
    shown = words + " " + " ".join(str(v) for v in fields.values())
    assert not [w for w in INTAKE_WORDS if w in shown], shown
    assert not set(fields) & {"declared", "scanned", "mismatch"}
    for dpi in (203, 300):
        assert decoded(tmp_path, to_png(render(template, fields, dpi))) == "JDX000123456789"
