"""The work areas of the station, who may enter each, and where it lives."""

from __future__ import annotations

from dataclasses import dataclass

from rma.core.models import Role


@dataclass(frozen=True)
class Area:
    key: str
    path: str
    label: str  # English; shown through _()
    icon: str  # Material icon name
    roles: frozenset[Role]

    def admits(self, roles: frozenset[Role]) -> bool:
        return bool(self.roles & roles)


INTAKE = Area("intake", "/intake", "Intake", "move_to_inbox", frozenset({Role.CLERK}))
SHIPPING = Area("shipping", "/shipping", "Shipping", "local_shipping", frozenset({Role.CLERK}))
LEDGER = Area("ledger", "/ledger", "Returns ledger", "menu_book",
              frozenset({Role.CLERK, Role.LEAD, Role.SUPERVISOR}))
COURIERS = Area("couriers", "/couriers", "Courier costs", "receipt_long",
                frozenset({Role.CLERK, Role.MATERIALS, Role.SUPERVISOR}))
BENCH = Area("bench", "/bench", "Bench", "build", frozenset({Role.TECHNICIAN, Role.LEAD}))
TEST_STATION = Area("test", "/test", "Test station", "fact_check", frozenset({Role.TESTER, Role.LEAD}))
TEST_LEDGER = Area("test_ledger", "/test/ledger", "Test ledger", "fact_check",
                   frozenset({Role.TESTER, Role.LEAD, Role.SUPERVISOR}))
PROGRAMMING = Area("programming", "/programming", "IC programming", "memory",
                   frozenset({Role.TECHNICIAN, Role.LEAD, Role.MATERIALS, Role.SUPERVISOR}))
# The lead and the supervisor read the statement and approve count variances.
STORES = Area("stores", "/stores", "Stores", "inventory_2", frozenset({Role.MATERIALS, Role.LEAD, Role.SUPERVISOR}))
DASHBOARD = Area("dashboard", "/dashboard", "Dashboard", "insights", frozenset({Role.LEAD, Role.SUPERVISOR}))
# The department's settings: the supervisor and the admin change them (rma/reports/pages_settings.py).
SETTINGS = Area("settings", "/settings", "Department settings", "tune", frozenset({Role.SUPERVISOR, Role.ADMIN}))
ADMIN = Area("admin", "/admin", "Admin", "manage_accounts", frozenset({Role.ADMIN}))

AREAS: tuple[Area, ...] = (INTAKE, SHIPPING, LEDGER, COURIERS, BENCH, PROGRAMMING, TEST_STATION, TEST_LEDGER, STORES,
                           DASHBOARD, SETTINGS, ADMIN)


def areas_for(roles: frozenset[Role]) -> list[Area]:
    return [a for a in AREAS if a.admits(roles)]
