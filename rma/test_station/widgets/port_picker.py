"""The port picker: which fixture port this station uses, and where that came from.

A station's port is ``[test_station] port`` in its rma.toml. A station without one asks for
the port and keeps it for this browser (NiceGUI's ``app.storage.user``, which outlives a
sign-out and a server restart), so the tester gives it once, not at every session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nicegui import app, ui

from rma import config
from rma.i18n import _

PORT_KEY = "test_station_port"  # in app.storage.user: the fixture port of this browser


@dataclass(frozen=True)
class StationSetup:
    name: str
    port: str | None  # [test_station] port in rma.toml


def station_setup() -> StationSetup:
    """This station's name and its fixture port from rma.toml (blocking: call it in ``run.io_bound``)."""
    settings = config.station_settings()
    section = settings.raw.get("test_station", {})
    port = section.get("port") if isinstance(section, dict) else None
    return StationSetup(settings.name, str(port).strip() or None if port else None)


class PortPicker:
    """The port in use with its source (the label), and the form that gives a browser its port.

    ``label()`` goes in the page's header, then ``form_area()`` under it: the warning with the
    form while there is no port at all, nothing once there is one ("Change" brings the form back).
    """

    def __init__(self, setup: StationSetup, on_change: Callable[[], None]) -> None:
        self.setup = setup
        self.on_change = on_change
        self.editing = False

    @property
    def port(self) -> str | None:
        return self.setup.port or self.browser_port

    @property
    def browser_port(self) -> str | None:
        return str(app.storage.user.get(PORT_KEY) or "").strip() or None

    def label(self) -> None:
        with ui.row().classes("items-baseline gap-2 min-w-0 no-wrap"):
            self.text = ui.label().classes("text-slate-600 min-w-0 break-all").props("data-testid=fixture-port")
            self.change = ui.button(_("Change"), on_click=self._edit).classes("shrink-0").props(
                "flat dense no-caps color=primary data-testid=port-change")

    def form_area(self) -> None:
        self.area = ui.column().classes("w-full")
        self._show()

    # -------------------------------------------------------------- what it shows

    def _show(self) -> None:
        station = self.setup.name
        if self.setup.port:
            self.text.set_text(_("Fixture port {port} (from rma.toml) · station {station}").format(
                port=self.setup.port, station=station))
        elif self.browser_port:
            self.text.set_text(_("Fixture port {port} (set in this browser) · station {station}").format(
                port=self.browser_port, station=station))
        else:
            self.text.set_text(_("Fixture port: none") + " · " + _("station {station}").format(station=station))
        self.change.set_visibility(not self.setup.port and bool(self.browser_port) and not self.editing)
        self.area.clear()
        if self.setup.port:
            return
        with self.area:
            if not self.browser_port:
                with ui.card().classes("w-full bg-amber-50 border border-amber-300 gap-2").props(
                        "flat data-testid=port-missing"):
                    with ui.row().classes("items-center gap-2 no-wrap"):
                        ui.icon("usb_off", size="md").classes("text-amber-700")
                        ui.label(_("This station has no fixture port in rma.toml.")).classes(
                            "text-lg font-semibold text-amber-950")
                    ui.label(_("Add [test_station] port = \"/dev/ttyUSB0\" to rma.toml, or give the port for "
                               "this browser:")).classes("text-amber-950")
                    self._form()
            elif self.editing:
                with ui.card().classes("w-full gap-2").props("flat bordered data-testid=port-form"):
                    ui.label(_("The fixture port of this browser (empty: none):")).classes("text-slate-700")
                    self._form()

    def _form(self) -> None:
        with ui.row().classes("items-center gap-2"):
            field = ui.input(_("Fixture port"), value=self.browser_port or "") \
                .props("outlined dense data-testid=port-field").classes("w-96 font-mono")

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
            ui.button(_("Use this port"), icon="check", on_click=save).props("outline no-caps data-testid=port-save")

    def _edit(self) -> None:
        self.editing = True
        self._show()
