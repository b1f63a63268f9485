"""Shipping (``/shipping``): a unit leaves in an outbound parcel, from the keyboard alone.

The form and its keys are in ``rma.intake.widgets.ship_form``: unit → waybill → courier (guessed,
Enter accepts) → cost (Enter ships; "no cost" must be ticked, never implied). The parcel label
prints as the unit ships, and its row says where the label went.
"""

from __future__ import annotations

from nicegui import ui

from rma.core import catalogue
from rma.db import UnitOfWork
from rma.i18n import _
from rma.intake.widgets.ship_form import ShipForm
from rma.ui import runtime
from rma.ui.areas import SHIPPING
from rma.ui.banner import SIGNAL_HEAD
from rma.ui.frame import SessionUser, protected_page


def _customers(uow: UnitOfWork) -> dict[str, str]:
    return {c.code: f"{c.code} · {c.name}" for c in catalogue.list_customers(uow)}


def register() -> None:
    @protected_page(SHIPPING.path, area=SHIPPING, title="Shipping")
    async def shipping_page(user: SessionUser) -> None:
        customers = await runtime.read(_customers)
        ui.add_head_html(SIGNAL_HEAD)
        ui.label(_("Ship units out")).classes("text-2xl font-semibold")
        ShipForm(user, customers)
