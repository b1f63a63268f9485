"""The firmware registry: images uploaded once, kept by their SHA-256, released by the lead.

An image is its bytes (a file under ``$RMA_HOME/firmware``, named by its SHA-256, like the
waybill photos) and a row that never changes: size, version, the models or IC part it is for,
the memory it targets (name, chip ID, base address) and release notes. What happens to it
afterwards is a row of ``firmware_events`` each: draft → released → retired (a draft may be
retired unreleased). Only the lead or the supervisor releases or retires; only a released
image is programmed; releasing makes it the current firmware of its models (unless told not
to), and a model's ``firmware_version`` in the catalogue, which the test plans compare with,
follows its current image. Before each use the file is hashed again: a file that changed is
refused, never programmed.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from rma import config
from rma.core import catalogue
from rma.core.ledger import record_audit
from rma.core.models import ProductModel, Role, User
from rma.core.parse import FREE_TEXT_LIMIT, clean_text
from rma.core.services import require_role
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.programming.models import (
    FirmwareEvent,
    FirmwareEventKind,
    FirmwareImage,
    FirmwareImageModel,
    ImageState,
)

UPLOADERS = (Role.TECHNICIAN, Role.LEAD, Role.MATERIALS, Role.SUPERVISOR)
RELEASERS = (Role.LEAD, Role.SUPERVISOR)
MAX_IMAGE_BYTES = 32 * 2**20  # the largest flash the programmer knows is 16 MiB
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
PART_RE = re.compile(r"^[A-Z0-9][A-Z0-9._/-]{0,63}$")
MEMORY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
CHIP_ID_RE = re.compile(r"^(?:[0-9A-F]{2}){1,16}$")
SHA_PREFIX_MIN = 8
MAX_ADDRESS = 2**31 - 1


# ---------------------------------------------------------------- the files

def file_path(sha256: str) -> Path:
    return config.firmware_path() / sha256[:2] / sha256


def _store(data: bytes, sha256: str) -> None:
    """Write the file under its hash (atomically); a file already there with other bytes is replaced."""
    target = file_path(sha256)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if target.exists() and _hash_file(target, len(data)) == sha256:
        return
    tmp = target.with_name(f".{sha256}.{os.getpid()}.part")
    tmp.write_bytes(data)
    tmp.replace(target)


def _hash_file(path: Path, size: int) -> str | None:
    try:
        with path.open("rb") as fh:
            data = fh.read(size + 1)
    except OSError:
        return None
    return hashlib.sha256(data).hexdigest() if len(data) == size else None


def image_bytes(image: FirmwareImage | ImageRef) -> bytes:
    """The image's bytes, hashed again now: a missing or changed file is refused."""
    path = file_path(image.sha256)
    try:
        with path.open("rb") as fh:
            data = fh.read(image.size + 1)
    except OSError as exc:
        raise DomainError("firmware_file_missing", "the file of firmware {version} ({sha}) is missing from "
                          "{path}: {reason}", version=image.version, sha=image.sha256[:12], path=str(path),
                          reason=exc.strerror or str(exc)) from None
    if len(data) != image.size or hashlib.sha256(data).hexdigest() != image.sha256:
        raise DomainError("firmware_file_changed", "the file of firmware {version} ({sha}) no longer matches the "
                          "registry (SHA-256 {actual}): it is refused, never programmed", version=image.version,
                          sha=image.sha256[:12], actual=hashlib.sha256(data).hexdigest()[:12])
    return data


def file_state(image: FirmwareImage) -> str:
    """``ok``, ``changed`` or ``missing``: what ``image_bytes`` would find now."""
    path = file_path(image.sha256)
    if not path.exists():
        return "missing"
    return "ok" if _hash_file(path, image.size) == image.sha256 else "changed"


# ---------------------------------------------------------------- reading the registry

@dataclass(frozen=True)
class ImageRef:
    """An image as plain values, for work outside its unit of work."""

    id: int
    sha256: str
    size: int
    version: str
    memory: str
    chip_id: str
    base: int
    state: str

    @classmethod
    def of(cls, image: FirmwareImage, state: ImageState) -> ImageRef:
        return cls(image.id, image.sha256, image.size, image.version, image.memory, image.chip_id, image.base,
                   state.value)


def state_of(uow: UnitOfWork, image_id: int) -> ImageState:
    last = uow.session.scalar(
        select(FirmwareEvent.event).where(FirmwareEvent.image_id == image_id,
                                          FirmwareEvent.event != FirmwareEventKind.MADE_CURRENT)
        .order_by(FirmwareEvent.id.desc()).limit(1))
    return ImageState.DRAFT if last is None else ImageState(last.value)


def _states(uow: UnitOfWork, ids: list[int]) -> dict[int, ImageState]:
    """The state of each image, from its last release or retirement, in one query."""
    if not ids:
        return {}
    last = (select(FirmwareEvent.image_id, func.max(FirmwareEvent.id).label("id"))
            .where(FirmwareEvent.image_id.in_(ids), FirmwareEvent.event != FirmwareEventKind.MADE_CURRENT)
            .group_by(FirmwareEvent.image_id).subquery())
    rows = uow.session.execute(select(FirmwareEvent.image_id, FirmwareEvent.event)
                               .join(last, last.c.id == FirmwareEvent.id)).all()
    found = {image_id: ImageState(event.value) for image_id, event in rows}
    return {i: found.get(i, ImageState.DRAFT) for i in ids}


def current_images(uow: UnitOfWork, model_ids: list[int] | None = None) -> dict[int, int]:
    """model id -> the image id of its current firmware (its last ``made_current`` event)."""
    last = select(FirmwareEvent.model_id, func.max(FirmwareEvent.id).label("id")) \
        .where(FirmwareEvent.event == FirmwareEventKind.MADE_CURRENT)
    if model_ids is not None:
        last = last.where(FirmwareEvent.model_id.in_(model_ids))
    last = last.group_by(FirmwareEvent.model_id).subquery()
    return dict(uow.session.execute(select(FirmwareEvent.model_id, FirmwareEvent.image_id)
                                    .join(last, last.c.id == FirmwareEvent.id)).all())


def current_image(uow: UnitOfWork, model: ProductModel) -> ImageRef:
    """The model's current firmware, which must be released; a clear error when it has none."""
    image_id = current_images(uow, [model.id]).get(model.id)
    if image_id is None:
        raise DomainError("no_firmware", "model {model} has no released firmware in the registry "
                          "(rma firmware add, then the lead releases it)", model=model.code)
    image = uow.session.get(FirmwareImage, image_id)
    state = state_of(uow, image_id)
    require_programmable(image, state)
    return ImageRef.of(image, state)


def require_programmable(image: FirmwareImage | ImageRef, state: ImageState | str) -> None:
    if ImageState(state) is ImageState.DRAFT:
        raise DomainError("firmware_not_released", "firmware {version} ({sha}) is a draft: only a released image "
                          "is programmed", version=image.version, sha=image.sha256[:12])
    if ImageState(state) is ImageState.RETIRED:
        raise DomainError("firmware_retired", "firmware {version} ({sha}) is retired: it is never programmed again",
                          version=image.version, sha=image.sha256[:12])


def find_image(uow: UnitOfWork, key: str) -> FirmwareImage:
    """An image by its number (``12``) or the start of its SHA-256 (at least 8 hex digits)."""
    text = (key or "").strip().lower().removeprefix("#")
    image = None
    if text.isdigit() and len(text) < SHA_PREFIX_MIN:
        image = uow.session.get(FirmwareImage, int(text))
    elif re.fullmatch(r"[0-9a-f]{%d,64}" % SHA_PREFIX_MIN, text):
        found = list(uow.session.scalars(select(FirmwareImage).where(FirmwareImage.sha256.startswith(text)).limit(2)))
        if len(found) > 1:
            raise DomainError("ambiguous_firmware", "{key} is the start of more than one image's SHA-256: give more "
                              "of it", key=text)
        image = found[0] if found else None
    if image is None:
        raise DomainError("unknown_firmware", "no firmware image {key} (give its number or at least 8 hex digits "
                          "of its SHA-256)", key=(key or "")[:70])
    return image


def _models_of(uow: UnitOfWork, ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for image_id, code in uow.session.execute(
                select(FirmwareImageModel.image_id, ProductModel.code).join(ProductModel)
                .where(FirmwareImageModel.image_id.in_(ids)).order_by(ProductModel.code)):
            out[image_id].append(code)
    return out


def _current_for(uow: UnitOfWork) -> dict[int, list[str]]:
    """image id -> the models it is the current firmware of."""
    current = current_images(uow)
    codes = dict(uow.session.execute(select(ProductModel.id, ProductModel.code)
                                     .where(ProductModel.id.in_(list(current)))).all()) if current else {}
    out: dict[int, list[str]] = {}
    for model_id, image_id in current.items():
        out.setdefault(image_id, []).append(codes[model_id])
    return {k: sorted(v) for k, v in out.items()}


def _last_event(uow: UnitOfWork, ids: list[int], kind: FirmwareEventKind) -> dict[int, FirmwareEvent]:
    if not ids:
        return {}
    return {e.image_id: e for e in uow.session.scalars(
        select(FirmwareEvent).where(FirmwareEvent.image_id.in_(ids), FirmwareEvent.event == kind)
        .order_by(FirmwareEvent.id))}


def image_dict(image: FirmwareImage, state: ImageState, models: list[str], current_for: list[str],
               released: FirmwareEvent | None = None, retired: FirmwareEvent | None = None) -> dict[str, Any]:
    return {
        "id": image.id, "sha256": image.sha256, "version": image.version, "size": image.size,
        "models": models, "part_number": image.part_number, "memory": image.memory, "chip_id": image.chip_id,
        "base": image.base, "filename": image.filename, "notes": image.notes, "state": state.value,
        "current_for": current_for, "added_by": image.added_by.username, "added_at": image.added_at.isoformat(),
        "released_by": released.actor.username if released else None,
        "released_at": released.at.isoformat() if released else None,
        "retired_by": retired.actor.username if retired else None,
        "retired_at": retired.at.isoformat() if retired else None,
        "retire_reason": retired.note if retired else None,
    }


def list_images(uow: UnitOfWork, *, model: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
    """Every image, newest first; ``model``: those for a model; ``state``: draft, released or retired."""
    q = select(FirmwareImage).order_by(FirmwareImage.id.desc())
    if model:
        m = catalogue.get_model(uow, model)
        q = q.where(FirmwareImage.id.in_(select(FirmwareImageModel.image_id).where(FirmwareImageModel.model_id == m.id)))
    wanted = None
    if state:
        try:
            wanted = ImageState((state or "").strip().lower())
        except ValueError:
            raise DomainError("bad_firmware_state", "a firmware state is draft, released or retired, not {state!r}",
                              state=str(state)[:40]) from None
    images = list(uow.session.scalars(q))
    ids = [i.id for i in images]
    states, models, current = _states(uow, ids), _models_of(uow, ids), _current_for(uow)
    released = _last_event(uow, ids, FirmwareEventKind.RELEASED)
    retired = _last_event(uow, ids, FirmwareEventKind.RETIRED)
    return [image_dict(i, states[i.id], models[i.id], current.get(i.id, []), released.get(i.id), retired.get(i.id))
            for i in images if wanted is None or states[i.id] is wanted]


def show_image(uow: UnitOfWork, key: str) -> dict[str, Any]:
    """One image, its file checked now, and every event of it."""
    image = find_image(uow, key)
    row = _image_row(uow, image)
    events = [{"event": e.event.value, "by": e.actor.username, "at": e.at.isoformat(), "note": e.note,
               "model": uow.session.get(ProductModel, e.model_id).code if e.model_id else None}
              for e in uow.session.scalars(select(FirmwareEvent).where(FirmwareEvent.image_id == image.id)
                                           .order_by(FirmwareEvent.id))]
    return {**row, "file": file_state(image), "events": events}


def _image_row(uow: UnitOfWork, image: FirmwareImage) -> dict[str, Any]:
    ids = [image.id]
    released = _last_event(uow, ids, FirmwareEventKind.RELEASED).get(image.id)
    retired = _last_event(uow, ids, FirmwareEventKind.RETIRED).get(image.id)
    return image_dict(image, state_of(uow, image.id), _models_of(uow, ids)[image.id],
                      _current_for(uow).get(image.id, []), released, retired)


def versions_by_hash(uow: UnitOfWork, model_id: int, base: int) -> dict[str, dict[int, tuple[str, str]]]:
    """The images of a model at ``base`` (any state): size -> {SHA-256 -> version}, to name what a chip holds."""
    rows = uow.session.execute(
        select(FirmwareImage.size, FirmwareImage.sha256, FirmwareImage.version)
        .join(FirmwareImageModel, FirmwareImageModel.image_id == FirmwareImage.id)
        .where(FirmwareImageModel.model_id == model_id, FirmwareImage.base == base)
        .order_by(FirmwareImage.id.desc()))
    out: dict[int, dict[str, str]] = {}
    for size, sha, version in rows:
        out.setdefault(size, {})[sha] = version
    return out


# ---------------------------------------------------------------- changing the registry

def _clean(value: str | None, pattern: re.Pattern[str], code: str, template: str, *, upper: bool = False) -> str:
    text = (value or "").strip()
    text = text.upper() if upper else text
    if not pattern.fullmatch(text):
        raise DomainError(code, template, value=(value or "")[:70])
    return text


def add_image(uow: UnitOfWork, actor: User, *, data: bytes, filename: str, version: str,
              models: list[str] | None = None, part_number: str | None = None, memory: str, chip_id: str,
              base: int = 0, notes: str | None = None) -> FirmwareImage:
    """Upload an image as a draft: kept by its SHA-256, for models and/or an IC part; never changed after."""
    require_role(actor, *UPLOADERS, action="add firmware images")
    filename = clean_text(Path(filename or "").name or "firmware.bin", "file name",
                          column=FirmwareImage.filename) or "firmware.bin"
    version = _clean(version, VERSION_RE, "bad_version", "{value!r} is not a firmware version (1-64 characters: "
                     "A-Z, a-z, 0-9, . _ + -)")
    memory = _clean(memory, MEMORY_RE, "bad_memory", "{value!r} is not a memory name (1-32 characters: A-Z, 0-9, "
                    ". _ -), e.g. W25Q16")
    chip_id = _clean((chip_id or "").replace(" ", "").removeprefix("0x").removeprefix("0X"), CHIP_ID_RE,
                     "bad_chip_id", "{value!r} is not a chip ID (1-16 bytes in hex, e.g. EF4015)", upper=True)
    part_number = _clean(part_number, PART_RE, "bad_part_number", "{value!r} is not a part number (1-64 characters: "
                         "A-Z, 0-9, . _ / -)", upper=True) if (part_number or "").strip() else None
    notes = clean_text(notes, "release notes", limit=FREE_TEXT_LIMIT, multiline=True)
    if isinstance(base, bool) or not isinstance(base, int) or not 0 <= base <= MAX_ADDRESS:
        raise DomainError("bad_base", "the base address is a number from 0 to {most}, not {base}",
                          most=MAX_ADDRESS, base=str(base)[:30])
    codes = sorted({(m or "").strip().upper() for m in (models or []) if (m or "").strip()})
    targets = [catalogue.get_model(uow, c) for c in codes]
    if not targets and part_number is None:
        raise DomainError("firmware_needs_target", "say what the image is for: one or more models, or an IC part "
                          "number")
    if not data:
        raise DomainError("empty_file", "the file {name} is empty", name=filename)
    if len(data) > MAX_IMAGE_BYTES:
        raise DomainError("file_too_big", "the file {name} is larger than {mb} MB", name=filename,
                          mb=MAX_IMAGE_BYTES // 2**20)
    if base + len(data) > MAX_ADDRESS:
        raise DomainError("bad_base", "the base address is a number from 0 to {most}, not {base}",
                          most=MAX_ADDRESS - len(data), base=base)
    sha = hashlib.sha256(data).hexdigest()
    known = uow.session.scalar(select(FirmwareImage).where(FirmwareImage.sha256 == sha))
    if known is not None:
        raise DomainError("firmware_exists", "this file is already in the registry: image {id}, firmware {version}",
                          id=known.id, version=known.version)
    _refuse_same_version(uow, version, [m.id for m in targets], part_number)
    _store(data, sha)
    image = FirmwareImage(sha256=sha, size=len(data), version=version, part_number=part_number, memory=memory,
                          chip_id=chip_id, base=base, filename=filename, notes=notes, added_by_id=actor.id,
                          added_at=uow.now())
    uow.session.add(image)
    uow.session.flush()
    for model in targets:
        uow.session.add(FirmwareImageModel(image_id=image.id, model_id=model.id))
    uow.session.flush()
    return image


def _refuse_same_version(uow: UnitOfWork, version: str, model_ids: list[int], part_number: str | None) -> None:
    """Two live images of one version for the same model or part would be told apart by nobody."""
    same = select(FirmwareImage).where(FirmwareImage.version == version)
    for image in uow.session.scalars(same):
        if state_of(uow, image.id) is ImageState.RETIRED:
            continue
        shared = uow.session.scalar(select(func.count()).select_from(FirmwareImageModel).where(
            FirmwareImageModel.image_id == image.id, FirmwareImageModel.model_id.in_(model_ids))) if model_ids else 0
        if shared or (part_number is not None and image.part_number == part_number):
            raise DomainError("firmware_version_exists", "firmware {version} is already image {id} for the same "
                              "model or part: retire it first, or give this one another version",
                              version=version, id=image.id)


def release_image(uow: UnitOfWork, actor: User, key: str, *, make_current: bool = True,
                  note: str | None = None) -> dict[str, Any]:
    """Release a draft (its file checked again first); it becomes the current firmware of its models."""
    require_role(actor, *RELEASERS, action="release firmware")
    note = clean_text(note, "release note", limit=FREE_TEXT_LIMIT, multiline=True)
    image = find_image(uow, key)
    state = state_of(uow, image.id)
    if state is ImageState.RELEASED:
        raise DomainError("firmware_released", "firmware {version} ({sha}) is already released: a released image "
                          "never changes", version=image.version, sha=image.sha256[:12])
    if state is ImageState.RETIRED:
        raise DomainError("firmware_retired", "firmware {version} ({sha}) is retired: it is never programmed again",
                          version=image.version, sha=image.sha256[:12])
    image_bytes(image)  # a file that changed since it was uploaded is never released
    uow.session.add(FirmwareEvent(image_id=image.id, event=FirmwareEventKind.RELEASED, actor_id=actor.id,
                                  at=uow.now(), note=note))
    if make_current:
        for link in uow.session.scalars(select(FirmwareImageModel).where(FirmwareImageModel.image_id == image.id)):
            _make_current(uow, actor, image, link.model)
    uow.session.flush()
    return show_image(uow, str(image.id))


def _make_current(uow: UnitOfWork, actor: User, image: FirmwareImage, model: ProductModel) -> None:
    uow.session.add(FirmwareEvent(image_id=image.id, event=FirmwareEventKind.MADE_CURRENT, model_id=model.id,
                                  actor_id=actor.id, at=uow.now()))
    if model.firmware_version != image.version:
        record_audit(uow, actor, "model_firmware_changed", model.code,
                     {"from": model.firmware_version, "to": image.version, "image": image.id})
        model.firmware_version = image.version  # what the test plans compare the unit's answer with


def retire_image(uow: UnitOfWork, actor: User, key: str, *, reason: str) -> dict[str, Any]:
    """Retire an image (a draft never released, or a released one): it is never programmed again."""
    require_role(actor, *RELEASERS, action="retire firmware")
    reason = clean_text(reason, "reason", limit=FREE_TEXT_LIMIT, required=True, multiline=True)
    image = find_image(uow, key)
    if state_of(uow, image.id) is ImageState.RETIRED:
        raise DomainError("firmware_retired", "firmware {version} ({sha}) is retired: it is never programmed again",
                          version=image.version, sha=image.sha256[:12])
    current = _current_for(uow).get(image.id)
    if current:
        raise DomainError("firmware_in_use", "firmware {version} is the current firmware of {models}: release "
                          "another image for them first", version=image.version, models=", ".join(current))
    uow.session.add(FirmwareEvent(image_id=image.id, event=FirmwareEventKind.RETIRED, actor_id=actor.id,
                                  at=uow.now(), note=reason))
    uow.session.flush()
    return show_image(uow, str(image.id))


def model_versions(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Each model with its catalogue firmware version and its current image (for the page)."""
    current = current_images(uow)
    images = {i.id: i for i in uow.session.scalars(select(FirmwareImage).where(
        FirmwareImage.id.in_(list(current.values()))))} if current else {}
    out = []
    for m in catalogue.list_models(uow):
        image = images.get(current.get(m.id))
        out.append({"model": m.code, "firmware_version": m.firmware_version,
                    "image": image.id if image else None, "image_version": image.version if image else None})
    return out

