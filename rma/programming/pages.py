"""The programming area's page, ``/programming``: reflash at the bench (technician, lead), the units
waiting in programming, the firmware registry (release and retire for the lead and supervisor),
the newest attempts of the programming ledger, each as a sentence, and the IC batch jobs (first
for the materials clerk); a job's screen is ``/programming/job/KEY`` (``pages_jobs``)."""

from __future__ import annotations

from nicegui import run, ui

from rma.core.models import Role
from rma.i18n import _
from rma.programming import registry, services
from rma.programming.pages_bench import BenchReflash, queue_table
from rma.programming.pages_jobs import job_page, jobs_section
from rma.programming.widgets.attempts import attempts_table
from rma.programming.widgets.firmware_table import FirmwareTable
from rma.programming.widgets.port_picker import toml_port
from rma.ui import runtime
from rma.ui.areas import PROGRAMMING
from rma.ui.frame import SessionUser, protected_page
from rma.ui.widgets import section_title

RECENT = 20


def register() -> None:
    @protected_page(PROGRAMMING.path, area=PROGRAMMING, title="IC programming")
    async def programming_page(user: SessionUser) -> None:
        ui.label(_("IC programming")).classes("text-2xl font-semibold")
        bench = user.roles & set(services.PROGRAMMERS)
        if bench:
            station, configured = await run.io_bound(toml_port)
            reflash = BenchReflash(user, station, configured, on_done=lambda: below.draw())
            reflash.build()
        below = Below(user, bool(bench))
        await below.draw()

    @protected_page("/programming/job/{key}", area=PROGRAMMING, title="IC batch job")
    async def ic_job_page(user: SessionUser, key: str) -> None:
        await job_page(user, key)


class Below:
    """What follows the reflash: the queue, the firmware registry, the newest attempts; drawn again after each."""

    def __init__(self, user: SessionUser, bench: bool) -> None:
        self.user, self.bench = user, bench
        self.area = ui.column().classes("w-full gap-4")

    async def draw(self) -> None:
        queue = await runtime.read(services.programming_queue) if self.bench else None
        recent = await runtime.read(lambda uow: services.list_attempts(uow, services.AttemptFilter(limit=RECENT)))
        self.area.clear()
        with self.area:
            if Role.MATERIALS in self.user.roles:  # the materials clerk's work first
                await jobs_section(self.user)
            if queue is not None:
                section_title(_("Waiting in programming"))
                queue_table(queue)
            section_title(_("Firmware registry"))
            await FirmwareTable(self.user, lambda: runtime.read(registry.list_images)).draw()
            section_title(_("Programming ledger"))
            attempts_table(recent, testid="programming-attempts")
            if Role.MATERIALS not in self.user.roles:
                await jobs_section(self.user)
