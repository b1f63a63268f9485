"""Every ledger event as one sentence in the reader's language: the one place that does it.

A page, the CLI's text output or an export meant for people shows a returns-ledger event
with :func:`event_sentence` and never prints its details itself: no dict, no list, no id,
no code. A sentence is the event's label and what its details say, as clauses::

    Opened: return reason “no power”; parcel SF SF1234567890; in warranty until 2027-06-18.
    建档：退货原因“no power”；包裹 SF SF1234567890；保修期内（至 2027-06-18）。

How to add an event
-------------------
1. Register its sentence with :func:`sentence` in your area's ``rma/<area>/sentences.py``
   (see ``rma/test_station/sentences.py``) and add that module to ``AREA_MODULES`` below.
2. Give its label and every new text its 简体中文 in your area's ``rma/<area>/zh.py`` (``tests/unit/test_i18n.py``
   reads the ``_("…")`` calls of these modules and fails without it).
3. ``tests/unit/test_sentences.py`` finds the event codes the code base writes and fails for
   one without a sentence; add representative details for your event to its ``EXAMPLES``.

If your details name something by id (a part, a bin), add a field to :class:`Lookups` and
fill it in :func:`lookups`, which runs inside the page's or command's unit of work.
An event without a registered sentence still reads: its code as words, then its details
as "key: value" words, through the shared :data:`PHRASES`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from rma.core.states import VisitState
from rma.i18n import CHINESE, ENGLISH, STATE_LABELS, current_language, translate

# Areas that register their own event sentences: imported before the first sentence is made.
AREA_MODULES = ("rma.intake.sentences", "rma.test_station.sentences", "rma.inventory.sentences",
                "rma.bench.sentences", "rma.programming.sentences")

Details = Mapping[str, Any]


class Words:
    """The translate function of one language (``_(text, **params)``) and the words values are shown in.

    Every parameter goes through :meth:`value`: a list is joined, a bool is yes or no, a number
    is written plainly, so a sentence can never show a Python repr.
    """

    def __init__(self, lang: str = ENGLISH) -> None:
        self.lang = lang if lang in (ENGLISH, CHINESE) else ENGLISH

    def __call__(self, text: str, /, **params: Any) -> str:
        out = translate(text, self.lang)
        return out.format(**{k: self.value(v) for k, v in params.items()}) if params else out

    @property
    def chinese(self) -> bool:
        return self.lang == CHINESE

    def value(self, value: Any) -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return self.yes_no(value)
        if isinstance(value, float):
            return f"{value:g}"
        if isinstance(value, (datetime, date)):
            return self.date(value)
        if isinstance(value, Mapping):
            return self.join(f"{self.key(k)}{self.colon}{self.value(v)}" for k, v in value.items())
        if isinstance(value, (list, tuple, set, frozenset)):
            return self.join(self.value(v) for v in value)
        return str(value)

    def join(self, items: Iterable[Any]) -> str:
        """A list as people write it: 线束、支架 in Chinese, "harness, bracket" in English."""
        return ("、" if self.chinese else ", ").join(str(i) for i in items if i not in (None, ""))

    @property
    def colon(self) -> str:
        return "：" if self.chinese else ": "

    def yes_no(self, value: Any) -> str:
        return self("yes") if value else self("no")

    def quote(self, text: Any) -> str:
        return f"“{self.value(text)}”"

    def state(self, state: str | None) -> str:
        try:
            return self(STATE_LABELS[VisitState(state)])
        except ValueError:
            return self.value(state)

    def date(self, value: Any) -> str:
        """A date as 2026-11-30 and a time as 2026-11-30 14:05 (local time), in both languages."""
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
            except ValueError:
                return value
        if isinstance(value, datetime):
            return (value.astimezone() if value.tzinfo else value).strftime("%Y-%m-%d %H:%M")
        return value.isoformat() if isinstance(value, date) else self.value(value)

    def money(self, value: Any) -> str:
        """An amount of yuan: "18.00 元" / "CNY 18.00"."""
        try:
            amount = f"{Decimal(str(value)):.2f}"
        except (InvalidOperation, ValueError):
            return self.value(value)
        return self("CNY {amount}", amount=amount)

    def key(self, key: Any) -> str:
        """A detail key without a phrase of its own, as words (the fallback's "key: value")."""
        return str(key).replace("_", " ")

    def sentence(self, label: str, clauses: Iterable[str | None]) -> str:
        """``Label: clause; clause.`` (``标签：分句；分句。``); just ``Label.`` without clauses."""
        parts = [c.strip() for c in clauses if c and c.strip()]
        stop = "。" if self.chinese else "."
        if not parts:
            return label + stop
        body = ("；" if self.chinese else "; ").join(parts)
        return f"{label}{self.colon}{body}" + ("" if body.endswith((".", "。", "!", "?", "？", "！")) else stop)


@dataclass(frozen=True)
class Lookups:
    """Names of what event details refer to by id, found by :func:`lookups` before rendering."""

    interceptions: Mapping[int, str] = field(default_factory=dict)  # interception plan id -> its action
    steps: Mapping[str, str] = field(default_factory=dict)  # test step id -> its name

    def step(self, step_id: Any) -> str:
        step_id = str(step_id)
        return self.steps.get(step_id) or step_id.replace("_", " ")

    def interception(self, plan_id: Any) -> str | None:
        return self.interceptions.get(plan_id) if isinstance(plan_id, int) else None


NO_LOOKUPS = Lookups()

Clauses = Callable[[Details, Words, Lookups], Iterable["str | None"]]


@dataclass(frozen=True)
class EventWords:
    code: str
    label: str  # English; its 简体中文 in rma/i18n.py
    clauses: Clauses


_REGISTRY: dict[str, EventWords] = {}
_loaded = False


def sentence(code: str, label: str) -> Callable[[Clauses], Clauses]:
    """Register the sentence of the ledger event ``code`` (a decorator).

    The function gets the event's details, the translate function ``_`` of the reader's
    language (``_(text, **params)``; ``_.join``, ``_.yes_no``, ``_.date``, ``_.money``,
    ``_.state``, ``_.quote`` write values as words) and the :class:`Lookups`; it returns
    the clauses that follow the label (empty ones are dropped). For example, in
    ``rma/inventory/sentences.py``::

        @sentence("parts_issued", "Parts issued")
        def _parts_issued(d, _, look):
            return [_("{qty} × {part}", qty=d.get("qty"), part=d.get("part")),
                    _("to tag {tag}", tag=d.get("tag"))]

    reads "Parts issued: 2 × CAN transceiver TJA1043; to tag R26-000042." Without a
    function of its own an event can use :func:`detail_clauses` (the shared phrases).
    """

    def register(clauses: Clauses) -> Clauses:
        known = _REGISTRY.get(code)
        if known is not None and known.clauses.__module__ != clauses.__module__:
            raise ValueError(f"the event {code!r} already has a sentence in {known.clauses.__module__}")
        _REGISTRY[code] = EventWords(code, label, clauses)
        return clauses

    return register


def registry() -> Mapping[str, EventWords]:
    """Every registered event, the areas' included."""
    global _loaded
    if not _loaded:
        for name in AREA_MODULES:
            importlib.import_module(name)
        _loaded = True
    return _REGISTRY


def words(lang: str | None = None) -> Words:
    """The words of ``lang``, by default the reader's (the page's language, or English)."""
    return Words(lang or current_language())


def event_label(code: str, lang: str | None = None) -> str:
    known = registry().get(code)
    return words(lang)(known.label) if known else code.replace("_", " ").capitalize()


def event_sentence(code: str, details: Details | None, lookups: Lookups | None = None,
                   *, lang: str | None = None) -> str:
    """The event as one sentence in ``lang`` (default: the reader's language: the page's, or English)."""
    _ = words(lang)
    look = lookups or NO_LOOKUPS
    details = details if isinstance(details, Mapping) else {}
    known = registry().get(code)
    if known is None:
        return _.sentence(code.replace("_", " ").capitalize(), detail_clauses(details, _, look))
    return _.sentence(_(known.label), known.clauses(details, _, look))


def entry_sentence(entry: Mapping[str, Any], lookups: Lookups | None = None, *, lang: str | None = None) -> str:
    """A returns-ledger row as ``services.ledger_entry_dict`` gives it."""
    return event_sentence(entry["event"], entry.get("details"), lookups, lang=lang)


# ---------------------------------------------------------------- the shared phrases

def _interceptions(value: Any, _: Words, look: Lookups) -> str | None:
    items = value if isinstance(value, (list, tuple)) else [value]
    if not items:
        return None
    actions = [look.interception(i) if isinstance(i, int) else str(i) for i in items]
    if all(actions):
        return _("interception: {actions}", actions=actions)
    return _("{n} interception plans matched", n=len(items))


def outcome_word(outcome: Any, _: Words) -> str:
    """How a test run ended, as a word: passed, failed, not judged, aborted."""
    if outcome == "pass":
        return _("passed")
    if outcome == "fail":
        return _("failed")
    if outcome == "error":
        return _("not judged (error)")
    if outcome == "aborted":
        return _("aborted by the tester")
    if outcome == "incomplete":
        return _("incomplete")
    return _.value(outcome)


def warranty_phrase(warranty: Any, until: Any, _: Words) -> str | None:
    if warranty == "in":
        return _("in warranty until {date}", date=_.date(until)) if until else _("in warranty")
    if warranty == "out":
        return _("out of warranty since {date}", date=_.date(until)) if until else _("out of warranty")
    if warranty == "unknown":
        return _("warranty unknown")
    if warranty == "void":
        return _("warranty void")
    if until:
        return _("warranty until {date}", date=_.date(until))
    return None if warranty in (None, "") else _("warranty: {x}", x=warranty)


Phrase = Callable[[Any, Words, Lookups], "str | None"]

# key -> the phrase of its value, shared by every event (and the fallback for unknown ones).
PHRASES: dict[str, Phrase] = {
    "reason": lambda v, _, look: _("reason {x}", x=_.quote(v)),
    "parcel": lambda v, _, look: _("parcel {x}", x=v),
    "reason_code": lambda v, _, look: _("reason code {x}", x=v),
    "repeat_of": lambda v, _, look: _("repeat return: back soon after visit {x}", x=v),
    "interceptions": _interceptions,
    "accessories": lambda v, _, look: _("accessories: {x}", x=v) if v else _("no accessories"),
    "missing": lambda v, _, look: _("missing: {x}", x=v) if v else None,
    "model_chosen": lambda v, _, look: _("model {x} picked by the clerk", x=v),
    "candidates": lambda v, _, look: _("models the serial could be: {x}", x=v) if v else None,
    "courier": lambda v, _, look: _("courier {x}", x=v),
    "waybill": lambda v, _, look: _("waybill {x}", x=v),
    "customer": lambda v, _, look: _("customer {x}", x=v),
    "station": lambda v, _, look: _("at station {x}", x=v),
    "run": lambda v, _, look: _("test run {x}", x=v),
    "attempt": lambda v, _, look: _("attempt {x}", x=v),
    "plan": lambda v, _, look: _("plan {x}", x=v),
    "outcome": lambda v, _, look: _("result: {x}", x=outcome_word(v, _)),
    "failed_steps": lambda v, _, look: _("failed steps: {x}", x=[look.step(s) for s in v]) if v else None,
    "fault": lambda v, _, look: _("fault found: {x}", x=v),
    "cause": lambda v, _, look: _("cause: {x}", x=v),
    "action": lambda v, _, look: _("repair: {x}", x=v),
    "note": lambda v, _, look: _("note {x}", x=_.quote(v)),
    "result": lambda v, _, look: _("done") if str(v).lower() == "ok" else _("result: {x}", x=v),
    "bench": lambda v, _, look: _("at {x}", x=v),
    "location": lambda v, _, look: _("to location {x}", x=v),
    "damage": lambda v, _, look: _("man-made damage: {x}", x=v),
    "steps_passed": lambda v, _, look: _("{x} steps passed", x=v),
    "accessories_ok": lambda v, _, look: _("accessories complete: {x}", x=v),
    "packaging_ok": lambda v, _, look: _("packaging complete: {x}", x=v),
}

Pair = Callable[[Any, Any, Words, Lookups], "str | None"]


def _part(part: Any, qty: Any, _: Words, look: Lookups) -> str:
    if part is None:
        return _("quantity {x}", x=qty)
    return _("{qty} × {part}", qty=qty, part=part) if qty is not None else _("part {x}", x=part)


def _firmware(new: Any, old: Any, _: Words, look: Lookups) -> str:
    if old is None:
        return _("firmware {x}", x=new)
    return _("firmware {old} → {new}", old=old, new=new) if new is not None else _("previous firmware {x}", x=old)


def _measured(step: Any, value: Any, _: Words, look: Lookups) -> str:
    if step is None:
        return _("measured {x}", x=value)
    name = look.step(step)
    return _("{step}: measured {value}", step=name, value=value) if value is not None else _("test item {x}", x=name)


# Keys written together as one phrase, where the first of them comes.
PAIRS: dict[tuple[str, str], Pair] = {
    ("warranty", "warranty_until"): lambda w, u, _, look: warranty_phrase(w, u, _),
    ("part", "qty"): _part,
    ("firmware", "from_version"): _firmware,
    ("step", "measured"): _measured,
}


def detail_clauses(details: Details, _: Words, look: Lookups, *, skip: Iterable[str] = ()) -> list[str | None]:
    """The details as clauses through the shared phrases; an unknown key as "key: value" words."""
    done = set(skip)
    out: list[str | None] = []
    for key, value in details.items():
        if key in done or value is None or value == "":
            continue
        pair = next((p for p in PAIRS if key in p), None)
        if pair is not None:
            done |= set(pair)
            out.append(PAIRS[pair](details.get(pair[0]), details.get(pair[1]), _, look))
        elif key in PHRASES:
            out.append(PHRASES[key](value, _, look))
        else:
            out.append(f"{_.key(key)}{_.colon}{_.value(value)}")
    return out


# ---------------------------------------------------------------- finding names for ids

def lookups(uow: Any, entries: Iterable[Mapping[str, Any]], *, runs: Iterable[int] = ()) -> Lookups:
    """The names the ``entries`` (returns-ledger rows as dicts) and the test ``runs`` refer to.

    One query per kind. Step names are the ones the test ledger kept for the runs named (the
    plans' only for failed steps without a run).
    """
    from sqlalchemy import select

    from rma.intake.models import Interception
    from rma.test_station.models import TestStepResult

    plan_ids: set[int] = set()
    runs = set(runs)
    without_run = False
    for e in entries:
        d = e.get("details") or {}
        plan_ids |= {i for i in (d.get("interceptions") or []) if isinstance(i, int)}
        if isinstance(d.get("run"), int) and (d.get("failed_steps") or d.get("reason")):
            runs.add(d["run"])
        elif d.get("failed_steps"):
            without_run = True
    actions = dict(uow.session.execute(select(Interception.id, Interception.action)
                                       .where(Interception.id.in_(plan_ids))).all()) if plan_ids else {}
    steps = plan_step_names() if without_run else {}
    if runs:  # the names the steps had when they ran, as the test ledger keeps them
        steps.update(uow.session.execute(select(TestStepResult.step_id, TestStepResult.name)
                                         .where(TestStepResult.run_id.in_(runs))).all())
    return Lookups(interceptions=actions, steps=steps)


def plan_step_names() -> dict[str, str]:
    """Step id -> name over every test plan of this station (a broken plan file gives none)."""
    from rma.errors import DomainError
    from rma.test_station import plans

    try:
        return {s.id: s.name for plan in plans.all_plans() for s in plan.steps} | {"fixture.identify": "Fixture identity"}
    except DomainError:
        return {}


# ---------------------------------------------------------------- core

sentence("manual_move", "Moved by hand")(detail_clauses)  # a lead's move, with its reason

