"""The return reason of an open visit, recorded or corrected after intake (原因确认、登记):
a reason code, the dealer's words, or both. Saving writes a ``reason_recorded`` ledger event."""

from __future__ import annotations

from nicegui import ui

from rma.core.models import Role
from rma.errors import DomainError
from rma.i18n import _, error_message
from rma.intake import services
from rma.ui.banner import notify_done, notify_problem
from rma.ui.fields import pick_first_on_enter
from rma.ui.frame import SessionUser


def may_record_reason(roles: frozenset[Role]) -> bool:
    return bool(roles & set(services.REASON_RECORDERS))


def reason_form(user: SessionUser, tag: str, reasons: dict[str, str], current_code: str | None,
                current_text: str | None) -> None:
    """Filled in with the reason as it stands, so a correction changes only what the clerk changes."""
    async def save() -> None:
        code, text = reason.value or None, (words.value or "").strip() or None
        try:
            await user.act(lambda uow, actor: services.set_return_reason(uow, actor, tag, reason_code=code, text=text))
        except DomainError as exc:
            notify_problem(error_message(exc))
            return
        notify_done(_("Return reason of {tag} recorded.").format(tag=tag))
        ui.navigate.reload()  # the visits table and the timeline show it

    with ui.row().classes("w-full items-end gap-3").props(f"data-testid=reason-form data-tag={tag}"):
        reason = ui.select(reasons, with_input=True, clearable=True, label=_("Return reason"),
                           value=current_code if current_code in reasons else None).props(
            "outlined dense options-dense data-testid=reason-code").classes("min-w-72")
        pick_first_on_enter(reason)
        words = ui.input(_("Dealer's complaint, free text (optional)"), value=current_text or "").props(
            "outlined dense clearable data-testid=reason-text").classes("grow")
        words.on("keydown.enter", save)
        ui.button(_("Record reason"), icon="edit_note", on_click=save).props(
            "unelevated no-caps data-testid=reason-save")
