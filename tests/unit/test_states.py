import pytest

from rma.core.states import INITIAL, TERMINAL, TRANSITIONS, VisitState, can_move, parse_state
from rma.errors import DomainError


def test_every_state_has_a_row_and_terminal_states_lead_nowhere():
    assert set(TRANSITIONS) == set(VisitState)
    for state in TERMINAL:
        assert TRANSITIONS[state] == frozenset()


def test_every_state_is_reachable_from_received():
    seen, todo = {INITIAL}, [INITIAL]
    while todo:
        for nxt in TRANSITIONS[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(VisitState)


def test_the_journey_of_domain_md():
    path = ["received", "awaiting_bench", "in_repair", "awaiting_parts", "in_repair", "programming",
            "awaiting_test", "in_test", "in_repair", "awaiting_test", "in_test", "passed", "refurbished"]
    for a, b in zip(path, path[1:]):
        assert can_move(VisitState(a), VisitState(b)), f"{a} -> {b}"


@pytest.mark.parametrize("a,b", [("received", "passed"), ("awaiting_bench", "in_test"),
                                 ("scrapped", "in_repair"), ("in_repair", "in_repair"),
                                 ("passed", "in_repair")])
def test_illegal_moves(a, b):
    assert not can_move(VisitState(a), VisitState(b))


def test_scrap_or_return_unrepaired_any_time_before_the_end():
    for state in set(VisitState) - TERMINAL:
        assert can_move(state, VisitState.SCRAPPED)
        assert can_move(state, VisitState.RETURNED_UNREPAIRED)


def test_parse_state_names_the_known_states():
    assert parse_state(" In_Repair ") is VisitState.IN_REPAIR
    with pytest.raises(DomainError) as e:
        parse_state("fixed")
    assert e.value.code == "unknown_state" and "awaiting_bench" in e.value.message
