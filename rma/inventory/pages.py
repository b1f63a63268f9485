"""The stores' pages (NiceGUI): issue by scan and the pick list, receipts, counts, the monthly
statement and reports, the parts catalogue and a part's page. Each page is put together in its
own module (``pages_*.py``) from the parts in ``widgets/``."""

from __future__ import annotations

from rma.ui.areas import STORES
from rma.ui.frame import SessionUser, protected_page


def register() -> None:
    from rma.inventory import (
        pages_counts,
        pages_issue,
        pages_parts,
        pages_receive,
        pages_statement,
    )

    @protected_page(STORES.path, area=STORES, title="Stores")
    def stores_page(user: SessionUser) -> None:
        pages_issue.IssueDesk(user).build()

    @protected_page("/stores/receive", area=STORES, title="Receipts")
    async def receive_page(user: SessionUser) -> None:
        await pages_receive.ReceiveDesk(user).build()

    @protected_page("/stores/counts", area=STORES, title="Counts")
    async def counts_page(user: SessionUser) -> None:
        await pages_counts.counts_list(user)

    @protected_page("/stores/count/{code}", area=STORES, title="Count")
    async def count_page(user: SessionUser, code: str) -> None:
        await pages_counts.CountScreen(user, code).build()

    @protected_page("/stores/statement", area=STORES, title="Monthly statement")
    async def statement_page(user: SessionUser, month: str | None = None) -> None:
        await pages_statement.statement_page(user, month)

    @protected_page("/stores/reports", area=STORES, title="Reports")
    async def reports_page(user: SessionUser) -> None:
        await pages_statement.reports_page(user)

    @protected_page("/stores/parts", area=STORES, title="Parts")
    async def parts_page(user: SessionUser, search: str | None = None) -> None:
        await pages_parts.parts_page(user, search)

    # ":path" so that a part number with a slash still reaches its page
    @protected_page("/stores/part/{number:path}", title="Part")
    async def part_page(user: SessionUser, number: str) -> None:
        await pages_parts.part_page(user, number)
