"""Test plans are validated whole, with file and line; every reply is judged precisely."""

import pytest

from rma.errors import DomainError
from rma.test_station.models import Verdict
from rma.test_station.plans import BUILTIN, Step, load_plan_file, parse_plan
from rma.test_station.services import judge

GOOD = """\
[plan]
model = "hu-8800"
name = "HU-8800 outgoing"
version = 2
packaging = ["gift box"]

[[step]]
id = "v12"
name = "12 V rail"
send = "MEAS:VOLT? V12"
range = { min = 11.4, max = 12.6, unit = "V" }

[[step]]
id = "fw"
send = "DUT:FW?"
equals = "{firmware}"

[[step]]
id = "red"
send = "DISP:PATTERN RED"
prompt = "Is the screen red?"
"""


def test_a_good_plan_loads_with_its_hash_and_checklist():
    plan = parse_plan(GOOD, "hu.toml")
    assert (plan.model, plan.version, [s.id for s in plan.steps]) == ("HU-8800", 2, ["v12", "fw", "red"])
    assert [s.id for s in plan.prompts] == ["red"] and len(plan.sha256) == 64
    assert plan.checklist(["harness", "gift box"]) == ["harness", "gift box"]
    assert parse_plan(GOOD + "\n", "hu.toml").sha256 != plan.sha256


@pytest.mark.parametrize("change,line,words", [
    (("range = { min = 11.4", "rnage = { min = 11.4"), 11, "unknown key 'rnage'"),
    (("max = 12.6", "max = 10.0"), 11, "min ≤ max"),
    (('id = "fw"', 'id = "v12"'), 14, "used twice"),
    (('equals = "{firmware}"', 'equals = "{firmware}"\nregex = "^x"'), 13, "exactly one"),
    (('send = "DUT:FW?"\n', ""), 13, "needs send"),
    (('prompt = "Is the screen red?"', 'prompt = "Is the screen red?"\nanswer = "maybe"'), 22, "yes_no or scan"),
    (("version = 2", "version = 0"), 4, "version"),
    (('unit = "V" }', 'unit = "V"'), 11, "not valid TOML"),
])
def test_a_bad_plan_is_refused_with_file_line_and_reason(change, line, words):
    text = GOOD.replace(*change)
    with pytest.raises(DomainError) as e:
        parse_plan(text, "plans/hu.toml")
    assert e.value.code == "bad_plan"
    assert f"plans/hu.toml:{line}" in e.value.message and words in e.value.message, e.value.message


def test_every_shipped_plan_is_valid_and_ends_with_a_powered_down_unit():
    plans = [load_plan_file(p) for p in sorted(BUILTIN.glob("*.toml"))]
    assert {p.model for p in plans} == {"HU-8800", "HU-6200", "NAV-520", "DC-220", "IC-700", "GW-310"}
    for p in plans:
        ids = [s.id for s in p.steps]
        assert ids[0] == "power_on" and ids[-1] == "power_off" and "firmware" in ids and "sleep_current" in ids


RANGE = Step(id="v12", name="12 V", send="MEAS:VOLT? V12", kind="range", minimum=11.4, maximum=12.6, unit="V")


@pytest.mark.parametrize("reply,verdict,words", [
    ("12.03", Verdict.PASS, None),
    (" 11.4 ", Verdict.PASS, None),
    ("12.9", Verdict.FAIL, "above 12.6 V"),
    ("0.00", Verdict.FAIL, "below 11.4 V"),
    ("NaN", Verdict.ERROR, "not a number"),
    ("inf", Verdict.ERROR, "not a number"),
    ("1e999", Verdict.ERROR, "not a finite number"),
    ("12,03", Verdict.ERROR, "not a number"),
    ("OK", Verdict.ERROR, "not a number"),
    ("", Verdict.ERROR, "not a number"),
])
def test_numeric_replies(reply, verdict, words):
    got, _, message = judge(RANGE, reply, None)
    assert got is verdict
    if words:
        assert words in message


def test_equality_regex_and_prompts():
    fw = Step(id="fw", name="fw", send="DUT:FW?", kind="equals", expected="{firmware}")
    assert judge(fw, "3.2.17", "3.2.17")[0] is Verdict.PASS
    assert judge(fw, "3.1.9", "3.2.17")[0] is Verdict.FAIL
    assert judge(fw, "3.2.17", None)[0] is Verdict.ERROR  # no current firmware known: cannot judge
    rx = Step(id="t", name="t", send="TOUCH:TEST?", kind="regex", pattern=r"^PASS\b")
    assert judge(rx, "PASS n=9", None)[0] is Verdict.PASS and judge(rx, "FAIL n=3", None)[0] is Verdict.FAIL
    yn = Step(id="red", name="red", kind="prompt", prompt="red?", answer="yes_no")
    assert [judge(yn, a, None)[0] for a in ("yes", "NO", "maybe")] == [Verdict.PASS, Verdict.FAIL, Verdict.ERROR]
    scan = Step(id="h", name="h", kind="prompt", prompt="scan", answer="scan", pattern=r"^TH-\d{4}$")
    assert judge(scan, "TH-0042", None)[0] is Verdict.PASS and judge(scan, "XX", None)[0] is Verdict.FAIL


@pytest.mark.parametrize("change,line,words", [
    (('send = "MEAS:VOLT? V12"', 'send = "MEAS:VOLT? V12;DUT:POWER OFF"'), 10, "cannot contain ';'"),
    (('send = "DUT:FW?"', 'send = "DUT:FW? \\u00e9"'), 15, "printable ASCII"),
    (("version = 2", 'version = 2\nstop_on_fail = "no"'), 5, "stop_on_fail must be true or false"),
    (('name = "12 V rail"', 'name = "12 V \\u001b[31mrail"'), 9, "name must be a text"),
    (('model = "hu-8800"', 'model = "' + "X" * 40 + '"'), 2, "model must be a model code"),
    (('name = "HU-8800 outgoing"', 'name = "' + "n" * 201 + '"'), 3, "longer than 200"),
    (("retries", "retries"), None, None),  # unchanged: the good plan itself
])
def test_plan_check_refuses_what_a_run_would_refuse(change, line, words):
    """One validation for `rma test plan check` and the run: a command the fixture driver would
    refuse mid-run, a boolean in quotes, a text the ledger cannot keep are refused up front."""
    text = GOOD.replace(*change)
    if line is None:
        assert parse_plan(text, "hu.toml").stop_on_fail is True
        return
    with pytest.raises(DomainError) as e:
        parse_plan(text, "plans/hu.toml")
    assert e.value.code == "bad_plan" and f"plans/hu.toml:{line}" in e.value.message and words in e.value.message, \
        e.value.message


def test_a_plan_nested_thousands_deep_is_refused_not_a_crash():
    with pytest.raises(DomainError) as e:
        parse_plan("[plan]\nmodel = \"X\"\nname = \"x\"\ndeep = " + "[" * 5000 + "]" * 5000 + "\n", "deep.toml")
    assert e.value.code == "bad_plan" and "nested too deep" in e.value.message


def test_a_file_that_is_not_a_plan_is_refused_without_reading_it_all(tmp_path):
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (1024 * 1024))
    with pytest.raises(DomainError) as e:
        load_plan_file(big)
    assert e.value.code == "bad_plan" and "larger than" in e.value.message
    with pytest.raises(DomainError) as e:
        load_plan_file(tmp_path)
    assert e.value.code == "bad_plan" and "cannot read it" in e.value.message
