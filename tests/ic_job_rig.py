"""Builders for the IC job tests: the small store (tests.stores_data) with a reel of blank W25Q16
flashes in bin A-03-01, and a released image for that part."""

from __future__ import annotations

import random

from rma.core import services as core
from rma.db import Database
from rma.inventory import catalogue, stock
from rma.programming import jobs, registry
from tests.stores_data import seed_stores

BLANK = "SPI-W25Q16"
IMAGE = random.Random("ic-job").randbytes(24 * 1024)  # six 4 KiB blocks
VERSION = "1.4.0"
BLANK_STOCK = 40


def ic_store(db: Database, *, image: bytes = IMAGE, version: str = VERSION) -> dict[str, object]:
    """The store with blank W25Q16s, and the image for them released by the lead; returns the image's id."""
    seed_stores(db, units=0)
    with db.uow() as uow:
        clerk = core.get_actor(uow, "materials")
        catalogue.add_bin(uow, clerk, "A-03-01")
        catalogue.add_bin(uow, clerk, "P-01-01")
        catalogue.add_part(uow, clerk, part_number=BLANK, name_zh="SPI Flash W25Q16（空白）",
                           name_en="SPI flash W25Q16 (blank)", category="ic", uom="each", abc="B", unit_cost="2.40")
    with db.uow() as uow:
        stock.receive(uow, core.get_actor(uow, "materials"), supplier="SZ-HX", delivery_note="DN-0100", line=1,
                      part_number=BLANK, bin_code="A-03-01", quantity=str(BLANK_STOCK))
    with db.uow() as uow:
        image_id = registry.add_image(uow, core.get_actor(uow, "materials"), data=image, filename="boot.bin",
                                      version=version, part_number=BLANK, memory="W25Q16", chip_id="EF4015").id
    with db.uow() as uow:
        registry.release_image(uow, core.get_actor(uow, "lead"), str(image_id))
    return {"image": image_id}


def open_job(db: Database, image_id: int, quantity: int = 8, *, issue: int | None = 8) -> str:
    """A job for ``quantity`` good ICs into bin P-01-01, with ``issue`` blanks issued to it; its number."""
    with db.uow() as uow:
        key = jobs.new_job(uow, core.get_actor(uow, "materials"), image=str(image_id), part_number=BLANK,
                           quantity=quantity, bin_code="P-01-01")["job"]
    if issue:
        with db.uow() as uow:
            jobs.issue(uow, core.get_actor(uow, "materials"), key, bin_code="A-03-01", quantity=issue)
    return key


def show(db: Database, key: str) -> dict:
    with db.uow(readonly=True) as uow:
        return jobs.show_job(uow, key)
