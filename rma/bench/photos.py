"""Photos of a unit on the bench (a tablet's camera): kept under RMA_HOME by their SHA-256, as the
waybill photos are, with a small JPEG beside each; served by the same ``/attachments/{sha}`` route.

Only images (JPEG, PNG, WebP, and what else Pillow reads as a photo) of at most 20 MB; an image
that would unpack to more than 50 megapixels (a decompression bomb) is refused before it is.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from typing import Any

from sqlalchemy import select

from rma import config
from rma.bench.models import BenchPhoto
from rma.bench.services import ON_BENCH, person_name, working_card
from rma.core.ledger import record_visit_event
from rma.core.models import User
from rma.core.parse import clean_text
from rma.db import UnitOfWork
from rma.errors import DomainError

MAX_PHOTO_BYTES = 20 * 1024 * 1024
MAX_PHOTO_PIXELS = 50_000_000
PURPOSES = ("unit", "damage", "finding")
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "MPO": "image/jpeg",
           "HEIF": "image/heif", "BMP": "image/bmp", "TIFF": "image/tiff", "GIF": "image/gif"}


def _thumbnail(data: bytes, filename: str) -> tuple[str, bytes]:
    """The image's format and a small JPEG of it; anything but an image, or a bomb, is refused."""
    from PIL import Image, UnidentifiedImageError

    def too_big() -> DomainError:
        return DomainError("image_too_big", "{name} is an image of more than {mp} megapixels", name=filename,
                           mp=MAX_PHOTO_PIXELS // 1_000_000)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                kind = img.format
                if kind not in FORMATS:
                    raise UnidentifiedImageError(kind)
                if img.width * img.height > MAX_PHOTO_PIXELS:  # known from the header, before unpacking
                    raise too_big()
                img.draft("RGB", (640, 640))  # JPEG: decode at a fraction of the size
                img.load()
                img = img.convert("RGB")
                img.thumbnail((320, 320))
                out = io.BytesIO()
                img.save(out, "JPEG", quality=80)
                return kind, out.getvalue()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_big() from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise DomainError("not_a_photo", "{name} is not a photo (JPEG, PNG or WebP)", name=filename) from None


def photo_dict(p: BenchPhoto) -> dict[str, Any]:
    return {"id": p.id, "sha256": p.sha256, "filename": p.filename, "content_type": p.content_type, "size": p.size,
            "purpose": p.purpose, "by": p.added_by.username, "by_name": person_name(p.added_by),
            "at": p.added_at.isoformat()}


def attach_photo(uow: UnitOfWork, actor: User, key: str, *, filename: str, data: bytes,
                 purpose: str = "unit") -> dict[str, Any]:
    """Keep a photo of the unit (``purpose``: unit, damage, finding) with its card."""
    card, visit = working_card(uow, actor, key, action="add photos", states=ON_BENCH)
    filename = clean_text(filename, "file name", limit=1000) or "photo"
    purpose = (purpose or "unit").strip().lower()
    if purpose not in PURPOSES:
        raise DomainError("unknown_purpose", "a photo is of: {known}", known=", ".join(PURPOSES))
    if not data:
        raise DomainError("empty_file", "the file {name} is empty", name=filename)
    if len(data) > MAX_PHOTO_BYTES:
        raise DomainError("file_too_big", "the file {name} is larger than {mb} MB", name=filename,
                          mb=MAX_PHOTO_BYTES // 2**20)
    kind, thumb = _thumbnail(data, filename)
    sha = hashlib.sha256(data).hexdigest()
    folder = config.attachments_path() / sha[:2]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / sha
    if not target.exists():
        tmp = folder / f".{sha}.part"
        tmp.write_bytes(data)
        tmp.replace(target)
    (folder / f"{sha}.thumb.jpg").write_bytes(thumb)
    same = uow.session.scalar(select(BenchPhoto).where(BenchPhoto.visit_id == visit.id, BenchPhoto.sha256 == sha,
                                                       BenchPhoto.purpose == purpose))
    if same is not None:  # the same photo sent twice
        return photo_dict(same)
    photo = BenchPhoto(visit_id=visit.id, sha256=sha, filename=filename[-255:], content_type=FORMATS[kind],
                       size=len(data), purpose=purpose, added_by_id=actor.id, added_at=uow.now())
    uow.session.add(photo)
    uow.session.flush()
    record_visit_event(uow, visit, actor, "photo_added", details={"purpose": purpose, "file": photo.filename})
    return photo_dict(photo)


def photos_of(uow: UnitOfWork, visit_id: int) -> list[dict[str, Any]]:
    return [photo_dict(p) for p in uow.session.scalars(
        select(BenchPhoto).where(BenchPhoto.visit_id == visit_id).order_by(BenchPhoto.id))]
