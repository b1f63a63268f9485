"""The sentences of the stores' events on a visit's timeline (see ``rma/sentences.py``).

The details name each part by its number and both its names (``name_zh``, ``name_en``), so a
sentence reads in either language without looking anything up.
"""

from __future__ import annotations

from typing import Any

from rma.sentences import Details, Lookups, Words, detail_clauses, sentence

UOM_WORDS = {"each": "", "set": "set", "roll": "roll", "m": "m", "g": "g", "kg": "kg", "ml": "ml"}
KIND_WORDS = {"receipt": "receipt", "issue": "issue", "return": "return to stores", "fit": "fitting",
              "old_part": "old part", "scrap": "scrapping", "transfer": "transfer", "count": "count adjustment"}
DONE = ("part", "name_zh", "name_en", "qty", "uom", "designator", "bin", "backordered", "note", "kind")


def part_phrase(d: Details | dict[str, Any], _: Words) -> str | None:
    """"2 × Amplifier IC (IC-TDA7851)", "0.50 m × Flat cable (W-FFC)"; in Chinese with the Chinese name."""
    number = d.get("part")
    if not number:
        return None
    name = d.get("name_zh") if _.chinese else d.get("name_en")
    name = name or d.get("name_en") or d.get("name_zh") or number
    uom = UOM_WORDS.get(str(d.get("uom") or "each"), str(d.get("uom") or ""))
    qty = d.get("qty")
    amount = _("{qty} {uom}", qty=qty, uom=_(uom)) if uom and qty is not None else qty
    if amount is None:
        return _("{name} ({part})", name=name, part=number)
    return _("{qty} × {name} ({part})", qty=amount, name=name, part=number)


def _rest(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [_("note {x}", x=_.quote(d["note"])) if d.get("note") else None,
            *detail_clauses(d, _, look, skip=DONE)]


@sentence("parts_requested", "Parts requested")
def _requested(d: Details, _: Words, look: Lookups) -> list[str | None]:
    lines = d.get("lines") if isinstance(d.get("lines"), list) else [d]
    asked = []
    for line in lines:
        if not isinstance(line, dict):
            continue
        phrase = part_phrase(line, _)
        if phrase and line.get("designator"):
            phrase = _("{part} at {designator}", part=phrase, designator=line["designator"])
        asked.append(phrase)
    return [_.join(asked) or None, *_rest({k: v for k, v in d.items() if k != "lines"}, _, look)]


@sentence("parts_issued", "Parts issued")
def _issued(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [part_phrase(d, _), _("from bin {bin}", bin=d["bin"]) if d.get("bin") else None,
            _("{qty} still to come (backordered)", qty=d["backordered"]) if d.get("backordered") else None,
            *_rest(d, _, look)]


@sentence("parts_backordered", "Parts backordered")
def _backordered(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [part_phrase(d, _), _("none to issue: the unit waits for a delivery"), *_rest(d, _, look)]


@sentence("request_cancelled", "Request cancelled")
def _cancelled(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [part_phrase(d, _), _("no longer needed"), *_rest(d, _, look)]


@sentence("part_fitted", "Part fitted")
def _fitted(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [part_phrase(d, _), _("at {designator}", designator=d["designator"]) if d.get("designator") else None,
            *_rest(d, _, look)]


@sentence("part_returned", "Part returned to stores")
def _returned(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [part_phrase(d, _), _("back to bin {bin}", bin=d["bin"]) if d.get("bin") else None, *_rest(d, _, look)]


@sentence("old_part_removed", "Old part removed")
def _old(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [part_phrase(d, _), _("from {designator}", designator=d["designator"]) if d.get("designator") else None,
            _("kept with the tag for the supplier claim"), *_rest(d, _, look)]


@sentence("part_move_corrected", "Parts move corrected")
def _corrected(d: Details, _: Words, look: Lookups) -> list[str | None]:
    kind = KIND_WORDS.get(str(d.get("kind") or ""))
    return [part_phrase(d, _), _("the {kind} is undone", kind=_(kind)) if kind else None,
            _("why: {x}", x=_.quote(d["note"])) if d.get("note") else None,
            *detail_clauses(d, _, look, skip=DONE)]


@sentence("refurbished_into_stock", "Refurbished into stock")
def _refurbished(d: Details, _: Words, look: Lookups) -> list[str | None]:
    where = d.get("location")
    return [_("into the refurbished-unit store {x}", x=where) if where else None,
            _("model {x}", x=d["model"]) if d.get("model") else None,
            *detail_clauses(d, _, look, skip=("location", "model"))]
