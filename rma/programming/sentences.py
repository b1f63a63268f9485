"""Programming in words: the reflash events of the returns ledger, and each row of the programming ledger.

The ledgers keep the driver's English message as it was written (``reason``) and, beside it,
its code and the first bad address; the reader's sentence is made from those, never from the
English text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rma.sentences import Details, Lookups, Words, detail_clauses, sentence

_SHOWN = ("attempt", "station", "firmware", "from_version", "chip", "socket", "image", "verified", "code", "address",
          "expected", "actual")


def problem(code: Any, _: Words, *, expected: Any = None, actual: Any = None) -> str:
    """Why an attempt did not end ok, from its code."""
    if code == "programmer_verify_failed":
        return _("the verify found the chip differs from the image")
    if code == "programmer_write_failed":
        return _("the chip did not take the data")
    if code == "programmer_erase_failed":
        return _("the chip did not erase")
    if code == "programmer_wrong_chip":
        return _("wrong chip: expected {expected}, read {actual}", expected=expected, actual=actual)
    if code == "programmer_no_target":
        return _("no chip answers")
    if code == "programmer_target_timeout":
        return _("the chip did not finish in time")
    if code == "programmer_image_too_large":
        return _("the image does not fit the chip")
    if code == "programmer_misaligned":
        return _("the image does not start on a sector of the chip")
    if code in ("programmer_timeout", "programmer_wrong_reply"):
        return _("the programmer does not answer")
    if code == "programmer_port_lost":
        return _("the line to the programmer was lost")
    if code in ("programmer_garbled", "programmer_bad_crc"):
        return _("the programmer's replies were garbled")
    if code == "programmer_socket_disabled":
        return _("the programmer's socket is disabled")
    if code == "aborted":
        return _("stopped by the operator")
    if code == "abandoned":
        return _("the station stopped during the attempt; no end was recorded")
    if code == "internal_error":
        return _("an internal error stopped it")
    if code == "database_error":
        return _("the programming ledger could not be written")
    return _("the programmer refused a command")


def where_it_stopped(code: Any, address: Any, _: Words, *, failed: bool) -> str | None:
    """The first bad address of a failure; how far an interrupted attempt wrote; or that nothing was written."""
    if address in (None, ""):
        if code == "programmer_verify_failed":
            return _("no differing byte was found when read back")
        return _("nothing was written") if failed else None
    if failed:
        return _("first bad address {x}", x=address)
    return _("written up to {x}: program it again", x=address)


def _record(d: Details, _: Words) -> str | None:
    return _("programming record {x}", x=d["attempt"]) if d.get("attempt") is not None else None


def _versions(d: Details, _: Words) -> str | None:
    new, old = d.get("firmware"), d.get("from_version")
    if new is None:
        return None
    return _("firmware {old} → {new}", old=old, new=new) if old else _("firmware {x}", x=new)


@sentence("programming_started", "Programming started")
def _started(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [_versions(d, _),
            _("chip {chip} in socket {socket}", chip=d["chip"], socket=d.get("socket")) if d.get("chip") else None,
            _("at station {x}", x=d["station"]) if d.get("station") else None,
            _record(d, _), *detail_clauses(d, _, look, skip=_SHOWN)]


@sentence("programming_done", "Programming done")
def _done(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [_versions(d, _),
            _("verified by the programmer's SHA-256") if d.get("verified") else None,
            _("image {x}", x=d["image"]) if d.get("image") else None,
            _record(d, _), *detail_clauses(d, _, look, skip=_SHOWN)]


def _not_done(failed: bool):  # noqa: ANN202
    def clauses(d: Details, _: Words, look: Lookups) -> list[str | None]:
        return [problem(d.get("code"), _, expected=d.get("expected"), actual=d.get("actual")),
                where_it_stopped(d.get("code"), d.get("address"), _, failed=failed),
                _("firmware {x}", x=d["firmware"]) if d.get("firmware") else None,
                _record(d, _), *detail_clauses(d, _, look, skip=_SHOWN)]
    return clauses


sentence("programming_failed", "Programming failed")(_not_done(True))  # the chip's fault: back to repair
sentence("programming_error", "Programming not finished")(_not_done(False))  # the station's: try again
sentence("programming_aborted", "Programming stopped")(_not_done(False))


# ---------------------------------------------------------------- a row of the programming ledger

def result_word(result: Any, _: Words) -> str:
    return {"ok": _("programmed and verified"), "failed": _("programming failed"), "error": _("not finished"),
            "aborted": _("stopped"), "abandoned": _("abandoned"), "unfinished": _("in progress or unfinished")
            }.get(str(result), _.value(result))


def attempt_sentence(a: Mapping[str, Any], _: Words) -> str:
    """One attempt of the programming ledger (``services.list_attempts`` row) as a sentence."""
    result = a.get("result")
    old = a.get("old_version") or (_("unknown") if a.get("old_sha256") else None)
    versions = (_("firmware {old} → {new}", old=old, new=a.get("image_version")) if old
                else _("firmware {x}", x=a.get("image_version")))
    clauses: list[str | None] = [result_word(result, _)]
    if result == "ok":
        seconds = a.get("seconds")
        clauses.append(_("in {s} s", s=f"{seconds:.1f}") if isinstance(seconds, (int, float)) else None)
    elif result == "unfinished":
        clauses.append(_("{done} of {size} bytes acknowledged", done=a.get("written") or 0, size=a.get("size")))
    else:
        clauses.append(problem(a.get("code"), _, expected=None, actual=a.get("chip_id")))
        clauses.append(where_it_stopped(a.get("code"), a.get("first_bad_address"), _, failed=result == "failed"))
    if a.get("chip_id"):
        clauses.append(_("chip {chip} in socket {socket}", chip=f"{a.get('chip_name') or ''} {a['chip_id']}".strip(),
                         socket=a.get("socket")))
    clauses.append(_("at station {x}", x=a.get("station")))
    return _.sentence(versions[:1].upper() + versions[1:], clauses)
