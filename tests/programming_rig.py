"""Builders for the programming tests: a registry with HU-8800's old and current firmware, and units in programming."""

from __future__ import annotations

import random
from datetime import date
from itertools import count

from sqlalchemy import select

from rma.core import services as core
from rma.core.catalogue import get_model
from rma.core.models import Unit
from rma.core.states import VisitState
from rma.db import Database
from rma.intake import services as intake
from rma.programming import registry
from tests.factories import seed_basics

OLD, NEW = "3.1.0", "3.2.1"  # HU-8800's firmware before and now (seed_basics' catalogue says 3.2.1)
OLD_IMAGE = random.Random("old").randbytes(64 * 1024)
NEW_IMAGE = random.Random("new").randbytes(64 * 1024)
_waybills = count(1)


def add(db: Database, data: bytes, version: str, *, who: str = "tech", **kwargs) -> int:
    options = {"models": ["HU-8800"], "memory": "W25Q16", "chip_id": "EF4015", **kwargs}
    with db.uow() as uow:
        return registry.add_image(uow, core.get_actor(uow, who), data=data, filename=f"{version}.bin",
                                  version=version, **options).id


def release(db: Database, image_id: int, *, who: str = "lead", **kwargs) -> dict:
    with db.uow() as uow:
        return registry.release_image(uow, core.get_actor(uow, who), str(image_id), **kwargs)


def depot(db: Database) -> dict[str, int]:
    """seed_basics, then HU-8800's old firmware released and replaced by the current one (both released)."""
    seed_basics(db)
    old = add(db, OLD_IMAGE, OLD)
    release(db, old)
    new = add(db, NEW_IMAGE, NEW)
    release(db, new)
    return {"old": old, "new": new}


def in_programming(db: Database, serial: str, *, firmware: str | None = OLD) -> str:
    """A unit received at intake (its alerts raised), carried by the lead to programming; its tag.

    With ``firmware``, the factory's records know the unit and the firmware it left with.
    """
    with db.uow() as uow:
        clerk = core.get_actor(uow, "clerk")
        if firmware is not None and uow.session.scalar(select(Unit).where(Unit.serial == serial)) is None:
            uow.session.add(Unit(serial=serial, model=get_model(uow, "HU-8800"), manufactured_on=date(2025, 3, 1),
                                 firmware_version=firmware, created_at=uow.now()))
            uow.session.flush()
        parcel, _ = intake.receive_parcel(uow, clerk, courier="SF", waybill=f"SF{next(_waybills):010d}",
                                          customer_code="SH-PD01")
        tag = intake.receive_unit(uow, clerk, parcel, serial).visit.tag
    with db.uow() as uow:
        lead = core.get_actor(uow, "lead")
        for to in ("awaiting_bench", "in_repair", "programming"):
            core.move_visit(uow, lead, tag, VisitState(to), "to be reflashed")
    return tag


def visit_state(db: Database, tag: str) -> str:
    with db.uow(readonly=True) as uow:
        return core.find_visit(uow, tag).state.value


def unit_firmware(db: Database, tag: str) -> str | None:
    with db.uow(readonly=True) as uow:
        return core.find_unit(uow, tag).firmware_version
