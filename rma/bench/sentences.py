"""The sentences of the bench's ledger events (see ``rma/sentences.py``).

A code is written into its event with its words in both languages as they were then
(``defect``, ``defect_en``, ``defect_zh``): the reader sees the words of their language, and
a later change of the code list never rewrites what the timeline says.
"""

from __future__ import annotations

from typing import Any

from rma.sentences import Details, Lookups, Words, detail_clauses, sentence

DAMAGE_WORDS = {"water": "water", "impact": "impact", "seal": "broken seal", "other": "other damage"}
PURPOSE_WORDS = {"unit": "of the unit", "damage": "of the damage", "finding": "of a finding"}


def code_words(d: Details, key: str, _: Words) -> str | None:
    """A code of the event in the reader's language (its words then), or the code itself."""
    text = d.get(f"{key}_zh" if _.chinese else f"{key}_en")
    return str(text) if text else (str(d[key]) if d.get(key) else None)


def damage_word(kind: Any, _: Words) -> str | None:
    return _(DAMAGE_WORDS[kind]) if kind in DAMAGE_WORDS else (_.value(kind) if kind else None)


def finding_phrase(d: Details, _: Words) -> str | None:
    """section · designator: defect → repair; or no fault found."""
    if d.get("nff"):
        return _("no fault found")
    defect, repair = code_words(d, "defect", _), code_words(d, "repair", _)
    where = " ".join(x for x in (code_words(d, "section", _), d.get("designator")) if x)
    what = " → ".join(x for x in (defect, repair) if x)
    if where and what:
        return f"{where}{_.colon}{what}"
    return where or what or None


def _outcome(d: Details, _: Words) -> list[str | None]:
    """What a decision says about the card: its findings, no fault found, labour."""
    n = d.get("findings")
    return [
        _("no fault found: the outgoing test confirms it") if d.get("nff") else (
            _("{n} findings", n=n) if isinstance(n, int) and n != 1 else (_("1 finding") if n == 1 else None)),
        _("labour {minutes} min", minutes=d["labour_minutes"]) if isinstance(d.get("labour_minutes"), int) else None,
    ]


_DECISION_KEYS = ("findings", "nff", "labour_minutes", "request", "requested_by", "damage_kind")


@sentence("repair_started", "Repair started")
def _repair_started(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [_("by {name}", name=d["technician"]) if d.get("technician") else None,
            *detail_clauses(d, _, look, skip=("technician",))]


@sentence("bench_taken", "Taken at the bench")
def _bench_taken(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [_("by {name}", name=d["technician"]) if d.get("technician") else None]


@sentence("bench_assigned", "Assigned")
def _bench_assigned(d: Details, _: Words, look: Lookups) -> list[str | None]:
    who = d.get("technician")
    return [_("to {name}", name=who) if who else _("back to the queue"),
            _("was {name}", name=d["before"]) if d.get("before") else None]


@sentence("complaint_coded", "Complaint coded")
def _complaint_coded(d: Details, _: Words, look: Lookups) -> list[str | None]:
    symptom = code_words(d, "symptom", _)
    group = code_words(d, "group", _)
    return [_("symptom: {x}", x=f"{group} › {symptom}" if group and symptom else symptom) if symptom else None,
            _("when: {x}", x=code_words(d, "condition", _)) if d.get("condition") else None,
            _("note {x}", x=_.quote(d["note"])) if d.get("note") else None]


@sentence("finding_recorded", "Finding recorded")
def _finding_recorded(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [finding_phrase(d, _),
            _("{designator} is not on the model's parts list", designator=d.get("designator"))
            if d.get("not_on_board") else None,
            _("note {x}", x=_.quote(d["note"])) if d.get("note") else None]


@sentence("finding_withdrawn", "Finding withdrawn")
def _finding_withdrawn(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [finding_phrase(d, _), _("because: {x}", x=_.quote(d["reason"])) if d.get("reason") else None]


@sentence("photo_added", "Photo added")
def _photo_added(d: Details, _: Words, look: Lookups) -> list[str | None]:
    purpose = d.get("purpose")
    return [_(PURPOSE_WORDS[purpose]) if purpose in PURPOSE_WORDS else None,
            _("file {x}", x=d["file"]) if d.get("file") else None]


@sentence("damage_reported", "Human damage reported")
def _damage_reported(d: Details, _: Words, look: Lookups) -> list[str | None]:
    photos = d.get("photos")
    return [damage_word(d.get("damage_kind"), _), _.quote(d["reason"]) if d.get("reason") else None,
            _("{n} photos", n=photos) if isinstance(photos, int) else None, _("waits for the lead")]


@sentence("damage_confirmed", "Human damage confirmed")
def _damage_confirmed(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [damage_word(d.get("damage_kind"), _), _.quote(d["reason"]) if d.get("reason") else None,
            _("out of warranty") if d.get("warranty") == "out" else None,
            _("note {x}", x=_.quote(d["note"])) if d.get("note") else None]


@sentence("damage_rejected", "Human damage not confirmed")
def _damage_rejected(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [damage_word(d.get("damage_kind"), _), _("because: {x}", x=_.quote(d["note"])) if d.get("note") else None]


@sentence("scrap_proposed", "Scrap proposed")
def _scrap_proposed(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [_.quote(d["reason"]) if d.get("reason") else None, _("waits for the lead")]


@sentence("scrap_rejected", "Scrap not approved")
def _scrap_rejected(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [_("proposed: {x}", x=_.quote(d["reason"])) if d.get("reason") else None,
            _("because: {x}", x=_.quote(d["note"])) if d.get("note") else None]


@sentence("waiver_requested", "Waiver asked of the lead")
def _waiver_requested(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [_("plan: {x}", x=_.quote(d["action"])) if d.get("action") else None,
            _("why: {x}", x=_.quote(d["note"])) if d.get("note") else None]


@sentence("waiver_rejected", "Waiver not approved")
def _waiver_rejected(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [_("plan: {x}", x=_.quote(d["action"])) if d.get("action") else None,
            _("because: {x}", x=_.quote(d["note"])) if d.get("note") else None]


@sentence("repair_done", "Repair done")
def _repair_done(d: Details, _: Words, look: Lookups) -> list[str | None]:
    """To the outgoing test (earlier databases wrote the fault, cause and action instead)."""
    return [_("to the outgoing test") if "findings" in d else None, *_outcome(d, _),
            *detail_clauses(d, _, look, skip=_DECISION_KEYS)]


@sentence("sent_to_programming", "Sent to programming")
def _sent_to_programming(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [*_outcome(d, _), *detail_clauses(d, _, look, skip=_DECISION_KEYS)]


@sentence("scrapped", "Scrapped")
def _scrapped(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [_("beyond economic repair: {x}", x=_.quote(d["reason"])) if d.get("reason") else None,
            _("proposed by {name}", name=d["requested_by"]) if d.get("requested_by") else None,
            _("note {x}", x=_.quote(d["note"])) if d.get("note") else None,
            *_outcome(d, _), *detail_clauses(d, _, look, skip=(*_DECISION_KEYS, "reason", "note"))]


@sentence("returned_unrepaired", "Returned unrepaired")
def _returned_unrepaired(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [_("reason {x}", x=_.quote(d["reason"])) if d.get("reason") else None,
            _("human damage: {x}", x=damage_word(d["damage_kind"], _)) if d.get("damage_kind") else None,
            *_outcome(d, _), *detail_clauses(d, _, look, skip=(*_DECISION_KEYS, "reason"))]
