"""The web app of a station: ``serve(host, port)``, called by ``rma serve``.

NiceGUI is imported only inside ``serve``: it reads ``NICEGUI_STORAGE_PATH`` when it is
imported, and its storage (sessions, languages) belongs in ``RMA_HOME``, never in the
current directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rma import config, migrate
from rma.db import Database, ping

# A wrench on the tab, so a station's browser tab is easy to find.
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><rect width="24" height="24" rx="5" '
    'fill="#1e293b"/><path fill="#fbbf24" d="M19.4 7.6l-2.6 2.6-2.1-.6-.6-2.1 2.6-2.6a4.5 4.5 0 0 0-5.9 '
    '5.4l-5.6 5.6a1.5 1.5 0 0 0 2.1 2.1l5.6-5.6a4.5 4.5 0 0 0 5.4-5.9z"/></svg>'
)


def _use_storage_path(path: Path) -> None:
    path = path.resolve()
    os.environ["NICEGUI_STORAGE_PATH"] = str(path)
    storage = sys.modules.get("nicegui.storage")
    if storage is not None and storage.Storage.path != path:
        # NiceGUI was imported before serve() (an embedding program): move its storage too.
        from nicegui import app

        storage.Storage.path = path
        general = app.storage.general
        if hasattr(general, "filepath"):
            general.filepath = path / general.filepath.name


def register_pages() -> None:
    """Every page of the station; each module adds its own routes."""
    from rma.bench import pages as bench_pages
    from rma.intake import pages as intake_pages
    from rma.inventory import pages as inventory_pages
    from rma.programming import pages as programming_pages
    from rma.reports import pages as reports_pages
    from rma.test_station import pages as test_station_pages
    from rma.ui import admin, home, login, not_found, unit
    from rma.ui.ledger_view import register_exports

    register_exports()
    for module in (login, home, unit, admin, intake_pages, bench_pages, test_station_pages,
                   inventory_pages, programming_pages, reports_pages, not_found):
        module.register()


def _print_station_check() -> None:
    """What this station lacks, said at start (the admin page shows it too); it starts anyway."""
    from rma.station.checks import check_station

    problems = check_station()
    for problem in problems:
        print(f"rma: station check: [{problem.code}] {problem.message}", file=sys.stderr, flush=True)
    if not problems:
        print("rma: station check: everything this station needs is in place", flush=True)


async def _keep_statistics(db: Database) -> None:
    """The query planner's statistics: when the station starts, then once a day, off the event loop."""
    import asyncio

    from nicegui import run

    while True:
        try:
            await run.io_bound(db.refresh_statistics)
        except Exception as exc:  # a busy database: the next day's try, and the planner keeps what it has
            print(f"rma: could not refresh the query planner's statistics: {exc}", file=sys.stderr, flush=True)
        await asyncio.sleep(24 * 3600)


def serve(host: str, port: int) -> None:
    """Run the station's web app until it is stopped; refuses a database at another schema."""
    config.private_umask()  # session files, storage, attachments: this station's user only
    db = Database.from_url()
    ping(db.engine)
    migrate.require_current(db.engine)
    settings = config.station_settings()  # a broken rma.toml fails here, not at the first page
    _print_station_check()
    secret = config.session_secret()
    _use_storage_path(config.ui_storage_path())

    from nicegui import app, background_tasks, ui
    from starlette.middleware.sessions import SessionMiddleware

    from rma.ui import runtime
    from rma.ui.security import SecurityHeaders

    runtime.set_database(db)
    register_pages()
    app.on_startup(lambda: background_tasks.create(_keep_statistics(db), name="statistics"))
    # NiceGUI keeps a SessionMiddleware it finds; the security headers go outside it, so they
    # see (and can make Secure) the session cookie on every response.
    app.add_middleware(SessionMiddleware, secret_key=secret)
    app.add_middleware(SecurityHeaders, behind_proxy=settings.behind_proxy)
    try:
        ui.run(
            host=host, port=port, reload=False, show=False, title="rma", favicon=FAVICON,
            storage_secret=secret, show_welcome_message=False,
            proxy_headers=False,  # X-Forwarded-* only through [station] behind_proxy, never by default
        )
    finally:
        db.dispose()
