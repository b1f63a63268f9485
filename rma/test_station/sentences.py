"""The tester's words: the test events of the returns ledger, why a step failed, how a run ended.

The test ledger keeps the engine's English messages and reasons as they were written (no
row is ever changed); the reader's sentence is made again here from what the row holds:
the step's kind, limits and value, and the run's outcome, failed steps and checklist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rma.sentences import (
    Details,
    Lookups,
    Words,
    detail_clauses,
    outcome_word,
    sentence,
)


def _number(value: Any, unit: str | None) -> str:
    text = f"{value:g}" if isinstance(value, (int, float)) else str(value)
    return f"{text} {unit}" if unit else text


def _numeric(step: Mapping[str, Any]) -> float | None:
    if isinstance(step.get("numeric"), (int, float)):
        return float(step["numeric"])
    try:
        return float(str(step.get("value")).strip())
    except (TypeError, ValueError):
        return None


def _value(step: Mapping[str, Any], _: Words) -> str:
    return _.quote(str(step.get("value") or "")[:60])


def step_problem(step: Mapping[str, Any], _: Words) -> str | None:
    """Why a step failed or could not be done, in the reader's language; None for a passed step.

    ``step`` is a step row of the test ledger as ``services.show_run`` gives it (or a
    ``StepOutcome.as_dict()``): kind, limits, value, numeric, verdict, message, command.
    """
    verdict, kind, limits = step.get("verdict"), step.get("kind"), step.get("limits") or {}
    if verdict not in ("fail", "error"):
        return None
    if not _.chinese and step.get("message"):
        return step["message"]  # the engine's own English words
    if verdict == "fail":
        if kind == "range" and (n := _numeric(step)) is not None:
            unit = limits.get("unit")
            if limits.get("min") is not None and n < limits["min"]:
                return _("{value} is below {limit}", value=_number(n, unit), limit=_number(limits["min"], unit))
            if limits.get("max") is not None and n > limits["max"]:
                return _("{value} is above {limit}", value=_number(n, unit), limit=_number(limits["max"], unit))
        if kind == "equals":
            return _("{value} is not {expected}", value=_value(step, _), expected=_.quote(limits.get("equals")))
        if kind == "regex":
            return _("{value} does not match {pattern}", value=_value(step, _), pattern=limits.get("regex"))
        if kind == "prompt" and limits.get("answer") == "scan":
            return _("scanned {value} does not match {pattern}", value=_value(step, _), pattern=limits.get("regex"))
        if kind == "prompt":
            return _("the operator answered no")
    return problem(step.get("message"), _, value=step.get("value"), command=step.get("command"))


# The engine's (and the fixture driver's) English messages of a step that could not be done,
# and the reader's words for them: (pattern, words given the value and the command).
_PROBLEMS: tuple[tuple[re.Pattern[str], Any], ...] = tuple((re.compile(p), words) for p, words in (
    (r"^fixture port lost|^the fixture port .* is gone|^the fixture was closed",
     lambda _, v, c: _("the fixture port was lost")),
    (r"^the fixture refused", lambda _, v, c: _("the fixture refused the command {command}", command=c)),
    (r"^reply (?P<value>.*) is not a (finite )?number", lambda _, v, c: _("the reply {value} is not a number", value=v)),
    (r"^the model has no current firmware",
     lambda _, v, c: _("the model has no current firmware version in the catalogue")),
    (r"^(?P<value>.*) is not yes or no$", lambda _, v, c: _("{value} is not yes or no", value=v)),
    (r"^the prompt .* needs an answer", lambda _, v, c: _("nobody answered the prompt")),
    (r"^the fixture on .* does not answer", lambda _, v, c: _("the fixture does not answer")),
    (r"^(no reply|no complete reply|could not send)", lambda _, v, c: _("the fixture did not reply in time")),
    (r"^garbage from the fixture", lambda _, v, c: _("the fixture sent bytes that cannot be read")),
))


def problem(message: str | None, _: Words, *, value: Any = None, command: Any = None) -> str | None:
    """A step's English error message for the reader: as written in English, in words of the trade in Chinese."""
    if not message:
        return None
    if not _.chinese:
        return message
    for pattern, words in _PROBLEMS:
        if m := pattern.search(message):
            shown = value if value is not None else (m.groupdict().get("value") or "").strip("'\"")
            return words(_, _.quote(str(shown)[:40]), command or "—")
    return _("the step could not be done")


_STEP_REASON = re.compile(r"^step (?P<step>[a-z0-9][a-z0-9_.-]*): (?P<message>.*)$", re.S)


def run_reason(reason: str | None, _: Words, look: Lookups, *, failed_steps: list[str] | None = None,
               checklist: Mapping[str, Any] | None = None) -> str | None:
    """How a run ended, from the English reason its end row keeps; None when the failed steps say it all."""
    if not reason:
        return None
    if reason == "stopped by the tester":
        return _("stopped by the tester")
    if reason == "the accessories and packaging check was not answered":
        return _("the accessories and packaging check was not answered")
    if reason.startswith("missing accessories or packaging: "):
        missing = [item for item, present in (checklist or {}).items() if not present]
        return _("missing accessories or packaging: {items}", items=missing or reason.partition(": ")[2].split(", "))
    if reason.startswith("failed: "):
        steps = failed_steps or reason.partition(": ")[2].split(", ")
        return None if failed_steps else _("failed steps: {x}", x=[look.step(s) for s in steps])
    if m := _STEP_REASON.match(reason):
        return _("{step} could not be done: {problem}", step=look.step(m["step"]), problem=problem(m["message"], _))
    if reason.startswith("the fixture on "):
        return problem(reason, _)
    if reason.startswith("the test ledger could not be written"):
        return _("the test ledger could not be written") if _.chinese else reason
    if reason.startswith("the end of the run could not be written"):
        return _("the end of the run could not be written to the test ledger") if _.chinese else reason
    return reason  # a note someone wrote (the demo's): shown as written


def run_summary(run: Mapping[str, Any], _: Words, look: Lookups) -> str | None:
    """A run row of the test ledger in one phrase: its failed steps by name, or why it ended."""
    failed = run.get("failed_steps") or []
    parts = [_("failed steps: {x}", x=[look.step(s) for s in failed]) if failed else None,
             run_reason(run.get("reason"), _, look, failed_steps=failed, checklist=run.get("checklist"))]
    text = ("；" if _.chinese else "; ").join(p for p in parts if p)
    return text or None


# ---------------------------------------------------------------- the returns-ledger events

@sentence("test_started", "Test started")
def _test_started(d: Details, _: Words, look: Lookups) -> list[str | None]:
    attempt = d.get("attempt")
    return [_("test run {x}", x=d["run"]) if d.get("run") is not None else None,
            _("at station {x}", x=d["station"]) if d.get("station") else None,
            (_("first test") if attempt == 1 else _("attempt {x}", x=attempt)) if attempt is not None else None,
            *detail_clauses(d, _, look, skip=("run", "station", "attempt"))]


@sentence("test_taken_over", "Test taken over")
def _test_taken_over(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [_("test run {run} carries on at station {station}: the station before stopped without an end",
              run=d.get("run"), station=d.get("station")),
            *detail_clauses(d, _, look, skip=("run", "station"))]


def _run_end(d: Details, _: Words, look: Lookups, *, say_outcome: bool) -> list[str | None]:
    failed = d.get("failed_steps") or []
    return [_("test run {x}", x=d["run"]) if d.get("run") is not None else None,
            _("result: {x}", x=outcome_word(d["outcome"], _)) if say_outcome and d.get("outcome") else None,
            _("failed steps: {x}", x=[look.step(s) for s in failed]) if failed else None,
            run_reason(d.get("reason"), _, look, failed_steps=failed),
            *detail_clauses(d, _, look, skip=("run", "outcome", "failed_steps", "reason"))]


@sentence("test_passed", "Test passed")
def _test_passed(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return _run_end(d, _, look, say_outcome=False)


@sentence("test_failed", "Test failed")
def _test_failed(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return _run_end(d, _, look, say_outcome=False)


@sentence("test_aborted", "Test aborted")
def _test_aborted(d: Details, _: Words, look: Lookups) -> list[str | None]:
    """Not judged: the fixture failed (error) or the tester stopped it; the unit waits for a re-test."""
    return _run_end(d, _, look, say_outcome=d.get("outcome") == "error")


@sentence("incoming_test", "Incoming test")
def _incoming_test(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return _run_end(d, _, look, say_outcome=True)
