"""Attempts of the programming ledger as a table of sentences: on /programming and on the unit page."""

from __future__ import annotations

from typing import Any

from rma.i18n import _
from rma.programming import services
from rma.programming.sentences import attempt_sentence
from rma.sentences import words
from rma.ui import runtime
from rma.ui.home import tag_link
from rma.ui.widgets import section_title, table, when


def attempts_table(rows: list[dict[str, Any]], *, testid: str) -> None:
    w = words()
    table([_("When"), _("Tag"), _("Who"), _("What happened")],
          [[when(r["started_at"]), tag_link(r["tag"]) if r["tag"] else None, r["operator"], attempt_sentence(r, w)]
           for r in rows], empty=_("No programming yet."), testid=testid)


async def unit_programming(serial: str) -> None:
    """The unit page's section: every attempt on this unit, newest first."""
    rows = await runtime.read(lambda uow: services.attempts_of_unit(uow, serial))
    section_title(_("Programming attempts"))
    attempts_table(rows, testid="unit-programming")
