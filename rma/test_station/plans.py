"""Test plans: one per product model, a TOML file kept with the code (``plans/``) or dropped
into ``$RMA_HOME/plans`` for a new model without a release.

A plan is validated as a whole when it is loaded; a bad plan is refused with its file,
line and reason and never half-run. Its SHA-256 is stored with every run.

    [plan]
    model = "HU-8800"                 # the product model it tests
    name = "HU-8800 outgoing test"
    version = 3
    stop_on_fail = true               # default true: stop at the first failed step (a TOML
                                      # boolean: "no" in quotes is refused, never read as true)
    packaging = ["彩盒 gift box", "防静电袋 ESD bag"]   # checked after the steps, with the
                                      # model's accessory list (配件及包装)

    [[step]]
    id = "v12"                        # unique in the plan
    name = "12 V rail"
    send = "MEAS:VOLT? V12"           # what to send to the fixture (optional for prompts):
                                      # one command line the fixture driver accepts (no ';')
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
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.fixture import encode_command
from rma.core.parse import control_character, text_limit
from rma.errors import DomainError

BUILTIN = Path(__file__).parent / "plans"
MAX_PLAN_BYTES = 256 * 1024  # a plan is a page of TOML; anything bigger is not one
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
    text: str = field(default="", repr=False)  # exactly what was parsed (the ledger keeps it)

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
    except RecursionError:
        raise _refuse(source, None, "not valid TOML: nested too deep") from None
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
    if not MODEL_RE.match(head["model"].strip().upper()):
        raise _refuse(source, _key_line(text, plan_line or 1, "model"),
                      "model must be a model code (1-32 characters: A-Z, 0-9, dot, dash, underscore)")
    _check_text(head["name"], "name", text_limit(_record().name), source, _key_line(text, plan_line or 1, "name"))
    if "description" in head:
        _check_text(head["description"], "description", 2000, source, _key_line(text, plan_line or 1, "description"))
    stop_on_fail = head.get("stop_on_fail", True)
    if not isinstance(stop_on_fail, bool):
        raise _refuse(source, _key_line(text, plan_line or 1, "stop_on_fail"),
                      "stop_on_fail must be true or false (a TOML boolean, without quotes)")
    version = head.get("version", 1)
    if not isinstance(version, int) or version < 1:
        raise _refuse(source, _key_line(text, plan_line or 1, "version"), "version must be a whole number ≥ 1")
    packaging = head.get("packaging", [])
    if not isinstance(packaging, list) or not all(isinstance(p, str) and p.strip() for p in packaging):
        raise _refuse(source, _key_line(text, plan_line or 1, "packaging"), "packaging must be a list of texts")
    for item in packaging:
        _check_text(item, "packaging", 200, source, _key_line(text, plan_line or 1, "packaging"))
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
        packaging=tuple(p.strip() for p in packaging), stop_on_fail=stop_on_fail,
        source=source, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        description=str(head.get("description", "")), prompts=tuple(s for s in steps if s.kind == "prompt"),
        text=text,
    )


MODEL_RE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$")  # as a model code of the catalogue


def _record():  # noqa: ANN202 - the ledger table a plan's texts must fit in
    from rma.test_station.models import TestPlanRecord

    return TestPlanRecord


def _check_text(value: Any, key: str, limit: int | None, source: str, line: int | None) -> None:
    """A text of the plan that people see or the ledger keeps: no control character, not too long."""
    if not isinstance(value, str):
        raise _refuse(source, line, f"{key} must be a text")
    bad = control_character(value)
    if bad is not None:
        raise _refuse(source, line, f"{key} contains a control character ({bad})")
    if limit is not None and len(value.strip()) > limit:
        raise _refuse(source, line, f"{key} is longer than {limit} characters")


STEP_NAME_MAX = 200  # test_steps.name
SEND_MAX = 200  # test_steps.command


def _parse_step(raw: dict[str, Any], text: str, source: str, line: int | None, seen: set[str]) -> Step:
    def bad(reason: str, key: str | None = None) -> DomainError:
        return _refuse(source, _key_line(text, line, key) if key and line else line, reason)

    if not isinstance(raw, dict):
        raise bad("a step must be a [[step]] table")

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
    if not isinstance(name, str) or not name.strip() or control_character(name) or len(name) > STEP_NAME_MAX:
        raise bad(f"step {sid}: name must be a text of up to {STEP_NAME_MAX} characters", "name")
    send = raw.get("send")
    if send is not None:
        # The one check of a command is the driver's own: what it would refuse mid-run is refused here.
        if not isinstance(send, str) or len(send.strip()) > SEND_MAX:
            raise bad(f"step {sid}: send must be one command line of up to {SEND_MAX} characters", "send")
        try:
            encode_command(send)
        except ValueError as exc:
            raise bad(f"step {sid}: send cannot go to the fixture: {exc}", "send") from None
    judges = [k for k in ("range", "equals", "prompt") if k in raw]
    if "regex" in raw and "prompt" not in raw:
        judges.append("regex")
    if len(judges) != 1:
        raise bad(f"step {sid}: give exactly one of range, equals, regex, prompt (has: {', '.join(judges) or 'none'})")
    kind = judges[0]
    timeout = raw.get("timeout_s", 2.0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 120:
        raise bad(f"step {sid}: timeout_s must be a number of seconds between 0 and 120", "timeout_s")
    retries = raw.get("retries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 5:
        raise bad(f"step {sid}: retries must be a whole number from 0 to 5", "retries")
    fields: dict[str, Any] = {"id": sid, "name": name.strip(), "send": send.strip() if send else None, "kind": kind,
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
        unit = rng.get("unit", "")
        if not isinstance(unit, str) or control_character(unit) or len(unit) > 16:
            raise bad(f"step {sid}: range unit must be a short text", "range")
        fields.update(minimum=float(lo), maximum=float(hi), unit=unit or None)
    elif kind == "equals":
        if not isinstance(raw["equals"], str) or control_character(raw["equals"]):
            raise bad(f"step {sid}: equals must be a text", "equals")
        fields["expected"] = raw["equals"]
    if "regex" in raw:
        try:
            re.compile(raw["regex"])
        except (re.error, TypeError) as exc:
            raise bad(f"step {sid}: regex does not compile: {exc}", "regex") from None
        fields["pattern"] = raw["regex"]
    if kind == "prompt":
        if not isinstance(raw["prompt"], str) or not raw["prompt"].strip() or control_character(raw["prompt"]):
            raise bad(f"step {sid}: prompt must be the question to the operator", "prompt")
        answer = raw.get("answer", "yes_no")
        if answer not in ("yes_no", "scan"):
            raise bad(f"step {sid}: answer is yes_no or scan", "answer")
        fields.update(prompt=raw["prompt"].strip(), answer=answer)
    elif "answer" in raw:
        raise bad(f"step {sid}: answer belongs to prompt steps", "answer")
    return Step(**fields)


def load_plan_file(path: str | Path) -> Plan:
    """Read and validate one plan file (what ``rma test plan check`` and every run use alike)."""
    path = Path(path)
    try:
        if not path.is_file():
            raise OSError(f"{path} is not a file")
        with path.open("rb") as fh:
            data = fh.read(MAX_PLAN_BYTES + 1)
        if len(data) > MAX_PLAN_BYTES:
            raise _refuse(str(path), None, f"larger than {MAX_PLAN_BYTES // 1024} KB: not a test plan")
        text = data.decode("utf-8")
    except (OSError, ValueError) as exc:  # ValueError: not UTF-8, or a NUL in the path
        raise _refuse(str(path)[:200], None, f"cannot read it: {str(exc)[:200]}") from None
    return parse_plan(text, str(path))


def plan_dirs() -> list[Path]:
    """Where plans are found: $RMA_HOME/plans first (new models without a release), then the shipped ones."""
    from rma import config

    return [config.rma_home() / "plans", BUILTIN]


@dataclass(frozen=True)
class PlanEntry:
    """One plan file as this station sees it: its plan, or why it is broken."""

    model: str | None  # None: a broken file whose model cannot even be told
    path: Path
    plan: Plan | None = None
    error: DomainError | None = None


# Each file is parsed once per process and again only when it changes (mtime, size, inode):
# a run reads its plan once, and a plan edited on a running station takes effect at the next run.
_file_cache: dict[Path, tuple[tuple[int, int, int], PlanEntry]] = {}
_cache_lock = threading.Lock()
_MODEL_LINE = re.compile(r"""^\s*model\s*=\s*["']([^"'\n]{1,32})["']""", re.MULTILINE)


def _entry(path: Path) -> PlanEntry:
    from rma.config import file_stamp

    stamp = file_stamp(path)
    with _cache_lock:
        cached = _file_cache.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        plan = load_plan_file(path)
        entry = PlanEntry(plan.model, path, plan=plan)
    except DomainError as exc:
        entry = PlanEntry(_model_of_broken(path), path, error=exc)
    if stamp is not None:
        with _cache_lock:
            _file_cache[path] = (stamp, entry)
    return entry


def _model_of_broken(path: Path) -> str | None:
    """Which model a broken file was meant for: its ``model = "…"`` line if it has one readable."""
    try:
        with path.open("rb") as fh:
            head = fh.read(MAX_PLAN_BYTES).decode("utf-8", "replace")
    except OSError:
        return None
    m = _MODEL_LINE.search(head)
    code = m.group(1).strip().upper() if m else ""
    return code if MODEL_RE.match(code) else None


def plan_catalogue() -> list[PlanEntry]:
    """Every plan file this station sees, in the order they count: the first file of a model wins,
    and a broken first file disables that model only (never an older plan in its place)."""
    entries: list[PlanEntry] = []
    for folder in plan_dirs():
        if folder.is_dir():
            entries += [_entry(path) for path in sorted(folder.glob("*.toml"))]
    return entries


def plan_for_model(model_code: str) -> Plan:
    """The plan of a model: the first file in plan_dirs() whose [plan] model is this model."""
    code = model_code.strip().upper()
    for entry in plan_catalogue():
        if entry.model == code:
            if entry.error is not None:
                raise DomainError("bad_plan", "the test plan of {model} is broken: {reason}", model=code,
                                  reason=entry.error.message)
            return entry.plan
    raise DomainError("no_plan", "there is no test plan for model {model}", model=code)


def plans_in_use() -> list[PlanEntry]:
    """The file that counts for each model (good or broken), then broken files of no known model."""
    chosen: dict[str, PlanEntry] = {}
    orphans: list[PlanEntry] = []
    for entry in plan_catalogue():
        if entry.model is None:
            orphans.append(entry)
        else:
            chosen.setdefault(entry.model, entry)
    return [chosen[m] for m in sorted(chosen)] + orphans


def all_plans() -> list[Plan]:
    """The plans in use, one per model; a model whose plan is broken has none."""
    return [e.plan for e in plans_in_use() if e.plan is not None]
