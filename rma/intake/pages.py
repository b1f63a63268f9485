"""The intake area: its pages (NiceGUI) and the route that serves waybill images.

- ``/intake``     the intake station (pages_station.py)
- ``/shipping``   units leaving (pages_shipping.py)
- ``/ledger``     the returns ledger with filters and CSV export (pages_ledger.py)
- ``/couriers``   courier costs of a month (pages_ledger.py)
- ``/attachments/{sha}`` and ``/attachments/{sha}/thumb``: a parcel's waybill photo, signed-in users only
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import FileResponse, Response
from nicegui import app, run

from rma.errors import DomainError
from rma.intake import pages_ledger, pages_shipping, services
from rma.intake.pages_station import intake_station
from rma.ui.areas import INTAKE
from rma.ui.frame import SessionUser, current_user, protected_page

# What a stored attachment is, from its first bytes (the file is named by its SHA-256 only).
MAGIC = ((b"%PDF-", "application/pdf"), (b"\x89PNG", "image/png"), (b"\xff\xd8", "image/jpeg"),
         (b"GIF8", "image/gif"), (b"II*\x00", "image/tiff"), (b"MM\x00*", "image/tiff"), (b"BM", "image/bmp"))


def _media_type(path) -> str:  # noqa: ANN001
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return next((media for magic, media in MAGIC if head.startswith(magic)), "application/octet-stream")


async def _attachment(request: Request, sha: str, thumbnail: bool) -> Response:
    session = await current_user(request)
    if isinstance(session, Response):
        return session
    try:
        path = services.attachment_file(sha, thumbnail=thumbnail)
    except DomainError as exc:
        return Response(exc.message, status_code=404, media_type="text/plain")
    media = "image/jpeg" if thumbnail else await run.io_bound(_media_type, path)
    return FileResponse(path, media_type=media, content_disposition_type="inline",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=86400"})


def register() -> None:
    @protected_page(INTAKE.path, area=INTAKE, title="Intake")
    async def intake_page(user: SessionUser, parcel: str | None = None) -> None:
        await intake_station(user, parcel)

    @app.get("/attachments/{sha}")
    async def attachment(request: Request, sha: str) -> Response:
        return await _attachment(request, sha, thumbnail=False)

    @app.get("/attachments/{sha}/thumb")
    async def attachment_thumbnail(request: Request, sha: str) -> Response:
        return await _attachment(request, sha, thumbnail=True)

    pages_shipping.register()
    pages_ledger.register()
