"""The visit state machine of DOMAIN.md: one enum, one transition table."""

from __future__ import annotations

import enum


class VisitState(enum.StrEnum):
    RECEIVED = "received"
    AWAITING_BENCH = "awaiting_bench"
    IN_REPAIR = "in_repair"
    AWAITING_PARTS = "awaiting_parts"
    PROGRAMMING = "programming"
    AWAITING_TEST = "awaiting_test"
    IN_TEST = "in_test"
    PASSED = "passed"
    REFURBISHED = "refurbished"  # refurbished into stock (翻新入库)
    SHIPPED = "shipped"  # shipped back to the sender (返回)
    SCRAPPED = "scrapped"
    RETURNED_UNREPAIRED = "returned_unrepaired"


S = VisitState

TERMINAL: frozenset[VisitState] = frozenset({S.REFURBISHED, S.SHIPPED, S.SCRAPPED, S.RETURNED_UNREPAIRED})

# Scrapping or returning unrepaired is possible from any open state ("any time").
_ANY_TIME = {S.SCRAPPED, S.RETURNED_UNREPAIRED}

TRANSITIONS: dict[VisitState, frozenset[VisitState]] = {
    S.RECEIVED: frozenset({S.AWAITING_BENCH} | _ANY_TIME),
    S.AWAITING_BENCH: frozenset({S.IN_REPAIR} | _ANY_TIME),
    S.IN_REPAIR: frozenset({S.AWAITING_PARTS, S.PROGRAMMING, S.AWAITING_TEST} | _ANY_TIME),
    S.AWAITING_PARTS: frozenset({S.IN_REPAIR} | _ANY_TIME),
    S.PROGRAMMING: frozenset({S.AWAITING_TEST, S.IN_REPAIR} | _ANY_TIME),
    S.AWAITING_TEST: frozenset({S.IN_TEST, S.IN_REPAIR} | _ANY_TIME),
    # in_test -> awaiting_test: a run that ended in ERROR or was aborted gives the unit back.
    S.IN_TEST: frozenset({S.PASSED, S.IN_REPAIR, S.AWAITING_TEST} | _ANY_TIME),
    S.PASSED: frozenset({S.REFURBISHED, S.SHIPPED} | _ANY_TIME),
    S.REFURBISHED: frozenset(),
    S.SHIPPED: frozenset(),
    S.SCRAPPED: frozenset(),
    S.RETURNED_UNREPAIRED: frozenset(),
}

INITIAL = S.RECEIVED


def can_move(from_state: VisitState, to_state: VisitState) -> bool:
    return to_state in TRANSITIONS[from_state]


def parse_state(value: str) -> VisitState:
    from rma.errors import DomainError

    try:
        return VisitState(value.strip().lower())
    except ValueError:
        raise DomainError(
            "unknown_state", "unknown state {state!r}; known states: {known}",
            state=value, known=", ".join(s.value for s in VisitState),
        ) from None
