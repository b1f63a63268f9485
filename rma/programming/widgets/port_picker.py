"""Which programmer port this station uses: ``[programming] port`` in rma.toml, or one kept by this browser.

A station without it in rma.toml asks once and keeps the answer in this browser (NiceGUI's
``app.storage.user``, which outlives a sign-out and a restart).
"""

from __future__ import annotations

from collections.abc import Callable

from nicegui import app, ui

from rma import config
from rma.i18n import _

PORT_KEY = "programming_port"  # in app.storage.user


def toml_port() -> tuple[str, str | None]:
    """This station's name and its programmer port from rma.toml (blocking: call it in ``run.io_bound``)."""
    settings = config.station_settings()
    section = settings.raw.get("programming", {})
    port = section.get("port") if isinstance(section, dict) else None
    return settings.name, (str(port).strip() or None) if port else None


class ProgrammerPort:
    def __init__(self, station: str, configured: str | None, on_change: Callable[[], None]) -> None:
        self.station, self.configured, self.on_change = station, configured, on_change
        self.editing = False

    @property
    def port(self) -> str | None:
        return self.configured or self.browser_port

    @property
    def browser_port(self) -> str | None:
        return str(app.storage.user.get(PORT_KEY) or "").strip() or None

    def build(self) -> None:
        with ui.row().classes("items-baseline gap-2 min-w-0 no-wrap"):
            self.text = ui.label().classes("text-slate-600 min-w-0 break-all").props("data-testid=programmer-port")
            self.change = ui.button(_("Change"), on_click=self._edit).classes("shrink-0").props(
                "flat dense no-caps color=primary data-testid=programmer-port-change")
        self.area = ui.column().classes("w-full")
        self._show()

    def _show(self) -> None:
        if self.configured:
            text = _("Programmer port {port} (from rma.toml)").format(port=self.configured)
        elif self.browser_port:
            text = _("Programmer port {port} (set in this browser)").format(port=self.browser_port)
        else:
            text = _("Programmer port: none")
        self.text.set_text(text + " · " + _("station {station}").format(station=self.station))
        self.change.set_visibility(not self.configured and bool(self.browser_port) and not self.editing)
        self.area.clear()
        if self.configured or (self.browser_port and not self.editing):
            return
        with self.area, ui.card().classes("w-full bg-amber-50 border border-amber-300 gap-2").props(
                "flat data-testid=programmer-port-form"):
            ui.label(_("Add [programming] port = \"/dev/ttyUSB0\" to rma.toml, or give the programmer's port for "
                       "this browser:")).classes("text-amber-950")
            with ui.row().classes("items-center gap-2"):
                field = ui.input(_("Programmer port"), value=self.browser_port or "") \
                    .props("outlined dense data-testid=programmer-port-field").classes("w-96 font-mono")

                def save() -> None:
                    value = str(field.value or "").strip()
                    if value:
                        app.storage.user[PORT_KEY] = value
                    else:
                        app.storage.user.pop(PORT_KEY, None)
                    self.editing = False
                    self._show()
                    self.on_change()

                field.on("keydown.enter", save)
                ui.button(_("Use this port"), icon="check", on_click=save).props(
                    "outline no-caps data-testid=programmer-port-save")

    def _edit(self) -> None:
        self.editing = True
        self._show()
