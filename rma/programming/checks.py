"""``rma check`` for programming: the firmware registry and the programming ledger.

Every check is one set-based query that returns only what breaks it (plus, for the registry's
files, a hash of each live image's file). An attempt left without an end is not a broken
ledger but a station that died: it is listed as a *warning* (``programming_unfinished``), and
``rma check`` still exits 0 for it.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import and_, func, or_, select

from rma.core.checks import (
    Violation,
    VisitPassPart,
    register_check,
    register_visit_pass,
)
from rma.core.models import ProductModel, ReturnsLedgerEntry, Unit, Visit
from rma.db import UnitOfWork
from rma.programming import registry
from rma.programming.models import (
    AttemptResult,
    FirmwareEvent,
    FirmwareEventKind,
    FirmwareImage,
    ProgrammingAttempt,
    ProgrammingBlock,
    ProgrammingResult,
)


def _good_attempts():  # noqa: ANN202
    """Attempts that ended ok with the programmer's SHA-256 of the range equal to the image's."""
    return (select(ProgrammingAttempt.id, ProgrammingAttempt.unit_id, ProgrammingAttempt.visit_id,
                   ProgrammingAttempt.image_version)
            .join(ProgrammingResult, ProgrammingResult.attempt_id == ProgrammingAttempt.id)
            .where(ProgrammingResult.result == AttemptResult.OK, ProgrammingResult.verified.is_(True),
                   ProgrammingResult.chip_sha256 == ProgrammingAttempt.image_sha256))


@register_check
def check_unit_firmware(uow: UnitOfWork) -> Iterator[Violation]:
    """No unit's firmware version changed without a successful, verified programming row.

    A unit's firmware must be the version of its last verified attempt; and every
    ``programming_done`` of the returns ledger must point at a verified attempt of its visit.
    """
    good = _good_attempts().where(ProgrammingAttempt.unit_id.is_not(None)).add_columns(
        func.row_number().over(partition_by=ProgrammingAttempt.unit_id,
                               order_by=ProgrammingAttempt.id.desc()).label("n")).subquery()
    for serial, firmware, version, attempt_id in uow.session.execute(
            select(Unit.serial, Unit.firmware_version, good.c.image_version, good.c.id)
            .join(good, and_(good.c.unit_id == Unit.id, good.c.n == 1))
            .where(or_(Unit.firmware_version.is_(None), Unit.firmware_version != good.c.image_version))):
        yield Violation("firmware_without_programming", serial,
                        f"unit {serial} carries firmware {firmware or 'none'}, but its last verified programming "
                        f"(attempt {attempt_id}) wrote {version}", "programming_attempts", (attempt_id,))


def _programming_done_unproven(uow: UnitOfWork, visit_id: int, tag: str) -> Iterator[Violation]:
    """Every ``programming_done`` of one visit (the returns pass flagged it) points at a verified attempt of the visit."""
    proof = (_good_attempts().where(
        ProgrammingAttempt.id == ReturnsLedgerEntry.details["attempt"].as_integer(),
        ProgrammingAttempt.visit_id == ReturnsLedgerEntry.visit_id)).exists()
    for (entry_id,) in uow.session.execute(
            select(ReturnsLedgerEntry.id).where(ReturnsLedgerEntry.visit_id == visit_id,
                                                ReturnsLedgerEntry.event == "programming_done", ~proof)
            .order_by(ReturnsLedgerEntry.id)):
        yield Violation("programming_done_unverified", tag,
                        f"entry {entry_id} of {tag} says the unit was programmed, but no verified programming "
                        f"attempt of the visit stands behind it", "returns_ledger", (entry_id,))


def _attempt_of(dialect: str) -> str:
    """The attempt a ``programming_done`` row names in its details, as an integer (or NULL)."""
    if dialect == "postgresql":
        return "CASE WHEN details->>'attempt' ~ '^[0-9]{1,18}$' THEN (details->>'attempt')::bigint END"
    return "CASE WHEN json_valid(details) THEN json_extract(details, '$.attempt') END"


# Judged in the returns pass (no second scan of the ledger): a visit whose one programming_done
# names a verified attempt of its own is fine; one with none or several is looked at again.
register_visit_pass(VisitPassPart(
    "programming done",
    lambda dialect: ["count(CASE WHEN event = 'programming_done' THEN 1 END) AS prog_done",
                     f"max(CASE WHEN event = 'programming_done' THEN {_attempt_of(dialect)} END) AS prog_attempt"],
    lambda dialect: "g.prog_done > 1 OR (g.prog_done = 1 AND pa.id IS NULL)",
    _programming_done_unproven,
    lambda dialect: (
        "LEFT JOIN (SELECT a.id, a.visit_id FROM programming_attempts a "
        "JOIN programming_results r ON r.attempt_id = a.id WHERE a.visit_id >= :lo AND a.visit_id < :hi "
        f"AND r.result = '{AttemptResult.OK.value}' AND r.verified = TRUE AND r.chip_sha256 = a.image_sha256) pa "
        "ON pa.visit_id = g.visit_id AND pa.id = g.prog_attempt")))


@register_check
def check_programming_ledger(uow: UnitOfWork) -> Iterator[Violation]:
    """An ok is verified, with no bad address; an attempt without an end is reported (a warning)."""
    for attempt_id, verified, chip, image, bad in uow.session.execute(
            select(ProgrammingResult.attempt_id, ProgrammingResult.verified, ProgrammingResult.chip_sha256,
                   ProgrammingAttempt.image_sha256, ProgrammingResult.first_bad_address)
            .join(ProgrammingAttempt, ProgrammingAttempt.id == ProgrammingResult.attempt_id)
            .where(ProgrammingResult.result == AttemptResult.OK,
                   or_(ProgrammingResult.verified.is_not(True), ProgrammingResult.chip_sha256.is_(None),
                       ProgrammingResult.chip_sha256 != ProgrammingAttempt.image_sha256,
                       ProgrammingResult.first_bad_address.is_not(None)))):
        yield Violation("programming_ok_unverified", f"attempt {attempt_id}",
                        f"programming attempt {attempt_id} ended ok without a verify that matched the image "
                        f"(verified {verified}, chip {chip or 'not hashed'}, first bad address {bad})",
                        "programming_results", (attempt_id,))
    done = (select(ProgrammingBlock.attempt_id, func.max(ProgrammingBlock.done).label("done"))
            .group_by(ProgrammingBlock.attempt_id).subquery())
    for attempt_id, tag, station, started, size, written in uow.session.execute(
            select(ProgrammingAttempt.id, Visit.tag, ProgrammingAttempt.station, ProgrammingAttempt.started_at,
                   ProgrammingAttempt.size, done.c.done)
            .outerjoin(Visit, Visit.id == ProgrammingAttempt.visit_id)
            .outerjoin(done, done.c.attempt_id == ProgrammingAttempt.id)
            .where(~select(ProgrammingResult.attempt_id)
                   .where(ProgrammingResult.attempt_id == ProgrammingAttempt.id).exists())):
        yield Violation("programming_unfinished", tag or f"attempt {attempt_id}",
                        f"programming attempt {attempt_id} ({tag or 'no visit'}) started at {station} "
                        f"{started:%Y-%m-%d %H:%M} UTC never ended: {written or 0} of {size} bytes were "
                        f"acknowledged; the chip holds an unknown image until it is programmed again",
                        "programming_attempts", (attempt_id,), warning=True)


@register_check
def check_firmware_registry(uow: UnitOfWork) -> Iterator[Violation]:
    """A model's current firmware is a released image, its catalogue version that image's; files unchanged."""
    current_id = (select(FirmwareEvent.model_id, func.max(FirmwareEvent.id).label("id"))
                  .where(FirmwareEvent.event == FirmwareEventKind.MADE_CURRENT)
                  .group_by(FirmwareEvent.model_id).subquery())
    current = (select(FirmwareEvent.model_id, FirmwareEvent.image_id)
               .join(current_id, current_id.c.id == FirmwareEvent.id).subquery())
    state_id = (select(FirmwareEvent.image_id, func.max(FirmwareEvent.id).label("id"))
                .where(FirmwareEvent.event != FirmwareEventKind.MADE_CURRENT)
                .group_by(FirmwareEvent.image_id).subquery())
    state = (select(FirmwareEvent.image_id, FirmwareEvent.event)
             .join(state_id, state_id.c.id == FirmwareEvent.id).subquery())
    for code, catalogue_version, image_id, version, event in uow.session.execute(
            select(ProductModel.code, ProductModel.firmware_version, FirmwareImage.id, FirmwareImage.version,
                   state.c.event)
            .join(current, current.c.model_id == ProductModel.id)
            .join(FirmwareImage, FirmwareImage.id == current.c.image_id)
            .outerjoin(state, state.c.image_id == FirmwareImage.id)
            .where(or_(state.c.event.is_(None), state.c.event != FirmwareEventKind.RELEASED,
                       ProductModel.firmware_version.is_(None), ProductModel.firmware_version != FirmwareImage.version))):
        if event != FirmwareEventKind.RELEASED:
            yield Violation("firmware_current_not_released", code,
                            f"the current firmware of {code} is image {image_id} ({version}), which is "
                            f"{event.value if event else 'a draft'}", "firmware_events", (image_id,))
        else:
            yield Violation("model_firmware_out_of_step", code,
                            f"the catalogue says {code} runs firmware {catalogue_version or 'none'}, but its current "
                            f"image {image_id} is {version}", "firmware_events", (image_id,))
    retired = select(FirmwareEvent.image_id).where(FirmwareEvent.event == FirmwareEventKind.RETIRED)
    for image in uow.session.scalars(select(FirmwareImage).where(FirmwareImage.id.not_in(retired))):
        found = registry.file_state(image)
        if found != "ok":
            yield Violation("firmware_file_changed", f"image {image.id}",
                            f"the file of firmware {image.version} (image {image.id}, {image.sha256[:12]}) is "
                            f"{found}: it cannot be programmed", "firmware_images", (image.id,))
