"""What the intake station reads, each in one read-only unit of work: its choices and open parcels,
a waybill's open parcel, the facts of a received unit, and an open parcel's rows."""

from __future__ import annotations

from typing import Any

from rma.core import catalogue
from rma.core.services import find_visit
from rma.db import UnitOfWork
from rma.intake import services


def station_data(uow: UnitOfWork) -> dict[str, Any]:
    return {
        "reasons": {r.code: f"{r.code} · {r.text}" for r in services.list_reasons(uow)},
        "customers": {c.code: f"{c.code} · {c.name}" for c in catalogue.list_customers(uow)},
        "open_parcels": services.open_parcels(uow),
    }


def open_parcels_matching(uow: UnitOfWork, waybill: str) -> dict[str, Any]:
    matching = [p for p in services.open_parcels(uow) if p["waybill"] == waybill]
    return {"open": matching, "courier": services.guess_courier(waybill)}


def unit_facts(uow: UnitOfWork, visit: Any, result: services.IntakeResult | None = None) -> dict[str, Any]:
    model = visit.unit.model
    return {**services.intake_summary(uow, visit, result), "model_name": model.name,
            "known_accessories": list(model.accessories or [])}


def parcel_view(uow: UnitOfWork, waybill: str, courier: str) -> dict[str, Any]:
    report = services.parcel_report(uow, waybill, courier)
    report["rows"] = [unit_facts(uow, find_visit(uow, u["tag"])) for u in report["units"]]
    return report
