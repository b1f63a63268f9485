"""A station under test: its seeded data and its ``rma serve`` subprocess."""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select

from rma.core import services
from rma.core.models import Customer, ProductModel, Role, Unit
from rma.db import Database

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROME_ARGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--window-size=1400,1000", "--lang=en-US",
)
SERVER_START_TIMEOUT_S = 30
WAIT_S = 20  # the longest any one expected change in the browser may take (a busy 2-core box)

PASSWORDS = {"admin": "admin-pass-1", "clerk": "clerk-pass-1", "lead": "lead-pass-1"}
SERIAL = "HU88000001"
SERIAL_2 = "HU88000002"


# ---------------------------------------------------------------- data

@dataclass
class Seed:
    tags: dict[str, str] = field(default_factory=dict)  # serial -> tag of its open visit


def seed_station(db_url: str) -> Seed:
    """An admin, a clerk, a lead; one model, one customer; two units received by the clerk."""
    db = Database.from_url(db_url)
    seed = Seed()
    try:
        with db.uow() as uow:
            admin = services.add_user(uow, None, username="admin", password=PASSWORDS["admin"],
                                      roles=[Role.ADMIN], display_name="Ada Admin")
            services.add_user(uow, admin, username="clerk", password=PASSWORDS["clerk"],
                              roles=[Role.CLERK], display_name="Li Wei")
            services.add_user(uow, admin, username="lead", password=PASSWORDS["lead"],
                              roles=[Role.LEAD], display_name="Zhang Min")
            uow.session.add(ProductModel(code="HU-8800", name="Head unit 8800", family="head_unit",
                                         serial_pattern=r"^HU88\d{6}$", warranty_months=24,
                                         firmware_version="3.2.1", accessories=["harness"]))
            uow.session.add(Customer(code="SH-PD01", name="上海浦东汽车销售服务有限公司", region="华东"))
        for serial, reason in ((SERIAL, "no power"), (SERIAL_2, "screen flickers")):
            with db.uow() as uow:
                clerk = services.get_actor(uow, "clerk")
                model = uow.session.scalar(select(ProductModel).where(ProductModel.code == "HU-8800"))
                customer = uow.session.scalar(select(Customer).where(Customer.code == "SH-PD01"))
                unit = Unit(serial=serial, model=model, manufactured_on=date(2025, 3, 1),
                            sold_on=date(2025, 6, 18), created_at=uow.now())
                uow.session.add(unit)
                uow.session.flush()
                seed.tags[serial] = services.open_visit(uow, clerk, unit, customer=customer, reason=reason).tag
    finally:
        db.dispose()
    return seed


# ---------------------------------------------------------------- the server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(port: int) -> list[str]:
    """The real entry point a station uses: ``python -m rma serve``.

    ``RMA_E2E_SERVE_DIRECT=1`` calls ``rma.ui.app.serve`` without the CLI, to tell a broken
    command line from a broken web app.
    """
    if os.environ.get("RMA_E2E_SERVE_DIRECT") == "1":
        return [sys.executable, "-c", f"from rma.ui.app import serve; serve('127.0.0.1', {port})"]
    return [sys.executable, "-m", "rma", "serve", "--host", "127.0.0.1", "--port", str(port)]


@dataclass
class Station:
    base: str
    home: Path
    log_path: Path
    seed: Seed
    db_url: str

    def url(self, path: str) -> str:
        return self.base + path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


