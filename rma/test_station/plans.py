"""Test plans: one per product model, a TOML file kept with the code (``plans/``) or dropped
into ``$RMA_HOME/plans`` for a new model without a release.

A plan is validated as a whole when it is loaded; a bad plan is refused with its file,
line and reason and never half-run. Its SHA-256 is stored with every run.

    [plan]
    model = "HU-8800"                 # the product model it tests
    name = "HU-8800 outgoing test"
    version = 3
    stop_on_fail = true               # default true: stop at the first failed step
    packaging = ["彩盒 gift box", "防静电袋 ESD bag"]   # checked after the steps, with the
                                      # model's accessory list (配件及包装)

    [[step]]
    id = "v12"                        # unique in the plan
    name = "12 V rail"
    send = "MEAS:VOLT? V12"           # what to send to the fixture (optional for prompts)
    range = { min = 11.4, max = 12.6, unit = "V" }   # or:
    # equals = "OK"                   # the reply equals this; "{firmware}" is the model's
    #                                 # current firmware version from the catalogue
    # regex = "^PASS\\b"              # the reply matches this regular expression
    # prompt = "Is the screen fully red?"   # ask the operator: answer = "yes_no" (default)
    # answer = "scan"                 # or a scanned value, checked by `regex` if given
    timeout_s = 2.0                   # default 2.0
    retries = 0                       # default 0: extra tries when a step fails or errs
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rma.errors import DomainError

BUILTIN = Path(__file__).parent / "plans"
PLAN_KEYS = {"model", "name", "version", "stop_on_fail", "packaging", "description"}
STEP_KEYS = {"id", "name", "send", "range", "equals", "regex", "prompt", "answer", "timeout_s", "retries"}
RANGE_KEYS = {"min", "max", "unit"}
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,47}$")
FIRMWARE = "{firmware}"


@dataclass(frozen=True)
class Step:
    id: str
    name: str
    send: str | None = None
    kind: str = "equals"  # range | equals | regex | prompt
    minimum: float | None = None
    maximum: float | None = None
    unit: str | None = None
    expected: str | None = None
    pattern: str | None = None
    prompt: str | None = None
    answer: str | None = None  # yes_no | scan, for prompts
    timeout_s: float = 2.0
    retries: int = 0

    def limits(self, firmware: str | None = None) -> dict[str, Any]:
        if self.kind == "range":
            return {"min": self.minimum, "max": self.maximum, "unit": self.unit}
        if self.kind == "equals":
            return {"equals": self.expected_value(firmware)}
        if self.kind == "regex":
            return {"regex": self.pattern}
        return {"answer": self.answer, **({"regex": self.pattern} if self.pattern else {})}

    def expected_value(self, firmware: str | None) -> str | None:
        if self.expected == FIRMWARE:
            return firmware
        return self.expected


@dataclass(frozen=True)
class Plan:
    model: str
    name: str
    version: int
    steps: tuple[Step, ...]
    packaging: tuple[str, ...] = ()
    stop_on_fail: bool = True
    source: str = ""
    sha256: str = ""
    description: str = ""
    prompts: tuple[Step, ...] = field(default=(), repr=False)

    def checklist(self, accessories: list[str]) -> list[str]:
        """The accessories and packaging to check (检查配件及包装): the model's list, then the plan's."""
        return list(dict.fromkeys([*accessories, *self.packaging]))


def _refuse(source: str, line: int | None, reason: str) -> DomainError:
    where = f"{source}:{line}" if line else source
    return DomainError("bad_plan", "test plan {where}: {reason}", where=where, reason=reason)


def _step_lines(text: str) -> list[int]:
    return [i for i, line in enumerate(text.splitlines(), 1) if line.strip().startswith("[[step]]")]


def _key_line(text: str, start: int, key: str) -> int:
    """The line of ``key = …`` in the table whose header is on line ``start`` (1-based)."""
    lines = text.splitlines()
    for number in range(start + 1, len(lines) + 1):
        line = lines[number - 1]
        if line.lstrip().startswith("["):
            break
        if re.match(rf"^\s*{re.escape(key)}\s*=", line):
            return number
    return start


def parse_plan(text: str, source: str = "<plan>") -> Plan:
    """Parse and validate a plan; the first problem found is refused with its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise _refuse(source, int(m.group(1)) if m else None, f"not valid TOML: {exc}") from None
    plan_line = next((i for i, l in enumerate(text.splitlines(), 1) if l.strip() == "[plan]"), None)
    head = data.get("plan")
    if not isinstance(head, dict):
        raise _refuse(source, None, "a [plan] table is missing")
    extra = set(data) - {"plan", "step"}
    if extra:
        raise _refuse(source, None, f"unknown table(s): {', '.join(sorted(extra))}")
    unknown = set(head) - PLAN_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise _refuse(source, _key_line(text, plan_line or 1, key), f"unknown key {key!r} in [plan]")
    for key in ("model", "name"):
        if not isinstance(head.get(key), str) or not head[key].strip():
            raise _refuse(source, plan_line, f"[plan] needs {key} = \"…\"")
    version = head.get("version", 1)
    if not isinstance(version, int) or version < 1:
        raise _refuse(source, _key_line(text, plan_line or 1, "version"), "version must be a whole number ≥ 1")
    packaging = head.get("packaging", [])
    if not isinstance(packaging, list) or not all(isinstance(p, str) and p.strip() for p in packaging):
        raise _refuse(source, _key_line(text, plan_line or 1, "packaging"), "packaging must be a list of texts")
    raw_steps = data.get("step", [])
    if not isinstance(raw_steps, list) or not raw_steps:
        raise _refuse(source, None, "a plan needs at least one [[step]]")
    lines = _step_lines(text)
    steps: list[Step] = []
    seen: set[str] = set()
    for n, raw in enumerate(raw_steps):
        line = lines[n] if n < len(lines) else None
        steps.append(_parse_step(raw, text, source, line, seen))
    return Plan(
        model=head["model"].strip().upper(), name=head["name"].strip(), version=version, steps=tuple(steps),
        packaging=tuple(p.strip() for p in packaging), stop_on_fail=bool(head.get("stop_on_fail", True)),
        source=source, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        description=str(head.get("description", "")), prompts=tuple(s for s in steps if s.kind == "prompt"),
    )


def _parse_step(raw: dict[str, Any], text: str, source: str, line: int | None, seen: set[str]) -> Step:
    def bad(reason: str, key: str | None = None) -> DomainError:
        return _refuse(source, _key_line(text, line, key) if key and line else line, reason)

    unknown = set(raw) - STEP_KEYS
    if unknown:
        key = sorted(unknown)[0]
        close = [k for k in STEP_KEYS if k[:3] == key[:3]]
        raise bad(f"unknown key {key!r} in a step" + (f" (did you mean {close[0]!r}?)" if close else ""), key)
    sid = raw.get("id")
    if not isinstance(sid, str) or not ID_RE.match(sid):
        raise bad("a step needs an id of a-z, 0-9, _ . - (up to 48 characters)", "id")
    if sid in seen:
        raise bad(f"step id {sid!r} is used twice", "id")
    seen.add(sid)
    name = raw.get("name", sid)
    send = raw.get("send")
    if send is not None and (not isinstance(send, str) or not send.strip() or not send.isascii()
                             or any(ord(c) < 32 for c in send) or len(send) > 200):
        raise bad(f"step {sid}: send must be one line of printable ASCII", "send")
    judges = [k for k in ("range", "equals", "prompt") if k in raw]
    if "regex" in raw and "prompt" not in raw:
        judges.append("regex")
    if len(judges) != 1:
        raise bad(f"step {sid}: give exactly one of range, equals, regex, prompt (has: {', '.join(judges) or 'none'})")
    kind = judges[0]
    timeout = raw.get("timeout_s", 2.0)
    if not isinstance(timeout, (int, float)) or not 0 < timeout <= 120:
        raise bad(f"step {sid}: timeout_s must be a number of seconds between 0 and 120", "timeout_s")
    retries = raw.get("retries", 0)
    if not isinstance(retries, int) or not 0 <= retries <= 5:
        raise bad(f"step {sid}: retries must be a whole number from 0 to 5", "retries")
    fields: dict[str, Any] = {"id": sid, "name": str(name), "send": send.strip() if send else None, "kind": kind,
                              "timeout_s": float(timeout), "retries": retries}
    if kind != "prompt" and not send:
        raise bad(f"step {sid}: a {kind} step needs send = \"…\"")
    if kind == "range":
        rng = raw["range"]
        if not isinstance(rng, dict) or set(rng) - RANGE_KEYS or "min" not in rng or "max" not in rng:
            raise bad(f"step {sid}: range = {{ min = …, max = …, unit = \"…\" }}", "range")
        lo, hi = rng["min"], rng["max"]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (lo, hi)) or lo > hi:
            raise bad(f"step {sid}: range min and max must be numbers with min ≤ max", "range")
        fields.update(minimum=float(lo), maximum=float(hi), unit=str(rng.get("unit", "")) or None)
    elif kind == "equals":
        if not isinstance(raw["equals"], str):
            raise bad(f"step {sid}: equals must be a text", "equals")
        fields["expected"] = raw["equals"]
    if "regex" in raw:
        try:
            re.compile(raw["regex"])
        except (re.error, TypeError) as exc:
            raise bad(f"step {sid}: regex does not compile: {exc}", "regex") from None
        fields["pattern"] = raw["regex"]
    if kind == "prompt":
        if not isinstance(raw["prompt"], str) or not raw["prompt"].strip():
            raise bad(f"step {sid}: prompt must be the question to the operator", "prompt")
        answer = raw.get("answer", "yes_no")
        if answer not in ("yes_no", "scan"):
            raise bad(f"step {sid}: answer is yes_no or scan", "answer")
        fields.update(prompt=raw["prompt"].strip(), answer=answer)
    elif "answer" in raw:
        raise bad(f"step {sid}: answer belongs to prompt steps", "answer")
    return Step(**fields)


def load_plan_file(path: str | Path) -> Plan:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _refuse(str(path), None, f"cannot read it: {exc}") from None
    return parse_plan(text, str(path))


def plan_dirs() -> list[Path]:
    """Where plans are found: $RMA_HOME/plans first (new models without a release), then the shipped ones."""
    from rma import config

    return [config.rma_home() / "plans", BUILTIN]


def plan_for_model(model_code: str) -> Plan:
    """The plan of a model: the first file in plan_dirs() whose [plan] model is this model."""
    code = model_code.strip().upper()
    for folder in plan_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            plan = load_plan_file(path)
            if plan.model == code:
                return plan
    raise DomainError("no_plan", "there is no test plan for model {model}", model=code)


def all_plans() -> list[Plan]:
    plans: dict[str, Plan] = {}
    for folder in plan_dirs():
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                plan = load_plan_file(path)
                plans.setdefault(plan.model, plan)
    return [plans[m] for m in sorted(plans)]
