"""The demo's IC batch job, through the services as the materials clerk runs it.

A reel of blank W25Q16 flashes is received into stores; the clerk uploads the boot image for
them, the lead releases it; the clerk opens a job for 12 programmed ICs, issues 16 blanks and
runs it on the programmer simulator (a pty, unpaced) whose socket 3 failed its self-test (switched
off at once) and whose socket 2 holds a flash with a weak cell in every round (three failures in
a row switch it off too); between rounds her hands are the simulator's ``load``: new blanks in.
The blank left over goes back to its bin. Dated by the demo's clock.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from drivers.programmer_sim import ProgrammerSimulator
from rma.core.models import Role, User
from rma.db import Database, UnitOfWork
from rma.inventory import catalogue, stock
from rma.programming import job_runner, jobs, registry

BLANK = "SPI-W25Q16"
BLANK_BIN, PROGRAMMED_BIN = "C-09-01", "C-09-02"
VERSION = "1.4.0"
IMAGE = random.Random("demo ic job").randbytes(64 * 1024)
FAULTS = ["bad_socket=3", "verify_mismatch_at=0x2A7@2"]
WANTED, ISSUED = 12, 16


def ic_job(uow: UnitOfWork, db: Database, clock: Any, users: dict[Role, User], supplier: str,
           when: datetime) -> str:
    """The job, from the reel's receipt to the blank returned; its number."""
    clerk, lead = users[Role.MATERIALS], users[Role.LEAD]
    clock.at = when
    for code in (BLANK_BIN, PROGRAMMED_BIN):
        catalogue.add_bin(uow, clerk, code)
    catalogue.add_part(uow, clerk, part_number=BLANK, name_zh="SPI Flash W25Q16（空白）",
                       name_en="SPI flash W25Q16 (blank)", spec="SOIC-8 2MB", category="ic", uom="each", abc="B",
                       unit_cost="2.4000", home_bin=BLANK_BIN)
    stock.receive(uow, clerk, supplier=supplier, delivery_note="DN-IC-0001", line=1, part_number=BLANK,
                  bin_code=BLANK_BIN, quantity="50", unit_cost="2.40")
    clock.at += timedelta(minutes=12)
    image = registry.add_image(uow, clerk, data=IMAGE, filename=f"W25Q16_boot_{VERSION}.bin", version=VERSION,
                               part_number=BLANK, memory="W25Q16", chip_id="EF4015", notes="仪表引导程序")
    uow.session.flush()
    clock.at += timedelta(minutes=25)
    registry.release_image(uow, lead, str(image.id))
    clock.at += timedelta(minutes=18)
    key = jobs.new_job(uow, clerk, image=str(image.id), part_number=BLANK, quantity=WANTED,
                       bin_code=PROGRAMMED_BIN, note="仪表备件烧录")["job"]
    clock.at += timedelta(minutes=3)
    jobs.issue(uow, clerk, key, bin_code=BLANK_BIN, quantity=ISSUED)
    uow.session.commit()  # the runner writes on connections of its own
    with ProgrammerSimulator(faults=FAULTS, pace=False) as sim:
        def tick(event: object) -> None:
            if isinstance(event, job_runner.SocketEvent) and event.state != "busy":
                clock.at += timedelta(seconds=25)

        def next_round(_n: int) -> bool:
            for socket in range(1, 5):
                sim.load(socket, b"\xff" * (2 * 1024 * 1024))
            clock.at += timedelta(minutes=2)
            return True

        clock.at += timedelta(minutes=5)
        run = job_runner.run_job(db, clerk.username, key, port=sim.url, station="stores-1", on_event=tick,
                                 next_round=next_round)
    if run.stopped != "complete":
        raise RuntimeError(f"the demo's IC job {key} stopped {run.stopped}: {run.message}")
    clock.at += timedelta(minutes=10)
    left = run.counts["left"]
    if left:
        jobs.return_blanks(uow, clerk, key, bin_code=BLANK_BIN, quantity=left)
    return key
