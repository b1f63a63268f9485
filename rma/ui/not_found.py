"""The page for an address that leads nowhere: said in the reader's language, with the way home.

NiceGUI's own 404 page prints the exception ("HTTPException: 404: Not Found"); a worker who
mistyped an address needs to know where they are and how to get back.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from nicegui import Client, app, ui
from nicegui.page import page
from starlette.exceptions import HTTPException

from rma.i18n import _
from rma.ui.frame import language_switch, page_setup


def not_found_content(path: str) -> None:
    with ui.column().classes("w-full items-center gap-4 py-20").props("data-testid=not-found"):
        ui.icon("explore_off", size="4rem").classes("text-slate-400")
        ui.label(_("There is no page here.")).classes("text-3xl font-semibold text-slate-800")
        ui.label(_("Nothing lives at {path}. Check the address, or go back to the home page.").format(
            path=path)).classes("text-lg text-slate-600 break-all").props("data-testid=not-found-path")
        ui.link(_("Home"), "/").classes("text-xl font-semibold").props("data-testid=not-found-home")
        language_switch(dark=False)


def register() -> None:
    @app.exception_handler(404)
    async def not_found(request: Request, exception: Exception) -> Response:
        endpoint = request.scope.get("endpoint")
        if (endpoint is not None and endpoint is not app and not request.scope.get("nicegui_page_path")
                and isinstance(exception, HTTPException)):
            return await http_exception_handler(request, exception)  # an API route: a plain answer
        with Client(page(""), request=request) as client:
            page_setup("Page not found")
            not_found_content(request.url.path)
        return client.build_response(request, 404)
