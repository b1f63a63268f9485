"""Label templates: TOML files that say what goes where on a label, in millimetres.

A template is data. Adding a label is adding ``labels/templates/NAME.toml``; a file
that is wrong (unknown key, element off the label, text taller than its box, a field
used but not declared, anything overlapping a barcode's quiet zone) is refused when it
is loaded, with the file and the reason, instead of printing a bad label later.

The format (see ``unit_tag.toml`` for a full example)::

    [label]
    description = "..."
    width_mm = 50
    height_mm = 30
    font = "fonts/x.ttc"        # optional: a path (relative to the file); default: Noto Sans CJK
    font_index = 2              # optional: the face of a .ttc collection

    [fields]                    # every field the elements use
    tag = "visit tag number"    # a plain string: a required field, and what it means
    intercepted = { about = "interception plan holds the unit", required = false }

    [[element]]
    kind = "barcode"            # Code 128 of one field, human-readable text under the bars
    field = "tag"
    x_mm = 1.5                  # the box, in mm from the top-left corner; for a barcode
    y_mm = 1                    # it includes the quiet zones and the human-readable line
    width_mm = 47
    height_mm = 12
    text_pt = 7                 # size of the human-readable line; 0 = none
    quiet_zone_modules = 10     # at least 10
    max_module_dots = 4         # optional cap on the bar width

    [[element]]
    kind = "text"
    text = "SN {serial}"        # Python format string over the fields
    x_mm = 2                    # …and y_mm, width_mm, height_mm: every element has a box
    size_pt = 8
    bold = false
    align = "left"              # left | center | right
    style = "plain"             # plain | inverse (white on black) | frame
    overflow = "shrink"         # shrink (down to min_pt, then refuse) | ellipsis (then cut with …)
    min_pt = 5
    lines = 1                   # wrap onto at most this many lines
    when = "intercepted"        # optional: draw only when this field is true
    values = { warranty = { in = "IN", out = "OUT", unknown = "?" } }   # optional: show these words

    [[element]]
    kind = "rule"               # a filled rectangle (a line or a block): just a box
"""

from __future__ import annotations

import os
import re
import string
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

from labels.errors import LabelError

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

MIN_QUIET_ZONE_MODULES = 10
LINE_SPACING = 1.15  # line pitch of wrapped text, in ems
FRAME_PADDING_MM = 0.5  # inside an inverse or framed text box
POINT_MM = 25.4 / 72

Align = Literal["left", "center", "right"]
Style = Literal["plain", "inverse", "frame"]
Overflow = Literal["shrink", "ellipsis"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_EPSILON_MM = 0.01


@dataclass(frozen=True)
class Box:
    """A rectangle on the label, in millimetres from the top-left corner."""

    x_mm: float
    y_mm: float
    width_mm: float
    height_mm: float

    def overlaps(self, other: Box) -> bool:
        """True when the two rectangles share some area (touching edges do not count)."""
        return (
            self.x_mm < other.x_mm + other.width_mm - _EPSILON_MM
            and other.x_mm < self.x_mm + self.width_mm - _EPSILON_MM
            and self.y_mm < other.y_mm + other.height_mm - _EPSILON_MM
            and other.y_mm < self.y_mm + self.height_mm - _EPSILON_MM
        )


@dataclass(frozen=True)
class FieldSpec:
    """A field the template expects in the data: its name, meaning, and whether it must be given."""

    name: str
    about: str
    required: bool = True


@dataclass(frozen=True)
class TextElement:
    """Text from a format string over the fields, fitted into its box."""

    box: Box
    text: str
    size_pt: float
    bold: bool = False
    align: Align = "left"
    style: Style = "plain"
    overflow: Overflow = "shrink"
    min_pt: float = 5.0
    lines: int = 1
    when: str | None = None
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    kind: Literal["text"] = "text"


@dataclass(frozen=True)
class BarcodeElement:
    """A Code 128 barcode of one field; the box includes the quiet zones and the text line."""

    box: Box
    field: str
    text_pt: float = 7.0
    quiet_zone_modules: int = MIN_QUIET_ZONE_MODULES
    max_module_dots: int | None = None
    when: str | None = None

    kind: Literal["barcode"] = "barcode"


@dataclass(frozen=True)
class RuleElement:
    """A filled black rectangle: a separating line or a block."""

    box: Box
    when: str | None = None

    kind: Literal["rule"] = "rule"


Element = TextElement | BarcodeElement | RuleElement


@dataclass(frozen=True)
class Template:
    """A loaded, checked label template."""

    name: str
    path: Path
    description: str
    width_mm: float
    height_mm: float
    fields: Mapping[str, FieldSpec]
    elements: tuple[Element, ...]
    font: Path | None = None
    font_index: int | None = None


def available_templates(directory: Path = TEMPLATES_DIR) -> list[str]:
    """Names of the templates shipped in ``directory`` (``unit_tag``, ``parcel``, …)."""
    return sorted(p.stem for p in directory.glob("*.toml"))


def load_template(name: str, directory: Path = TEMPLATES_DIR) -> Template:
    """The template ``directory/NAME.toml``; ``LabelError`` if there is none or it is bad."""
    if not _NAME.match(name):
        raise LabelError(f"template name {name!r} is not a plain name like 'unit_tag'", code="bad_template")
    path = directory / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(available_templates(directory)) or "none"
        raise LabelError(f"no template {name!r}: {path} does not exist (known: {known})", code="bad_template")
    return load_template_file(path)


def load_template_file(path: str | Path) -> Template:
    """Load and check the template at ``path``; a bad file raises ``LabelError`` naming it and why.

    A file is parsed once per process and again only when its bytes change: every label
    reads the (small) file, but only an edited template is parsed and checked again.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LabelError(f"template {path}: cannot be read: {exc.strerror or exc}", code="bad_template") from exc
    key = str(path) if path.is_absolute() else f"{os.getcwd()}\0{path}"  # a relative font path depends on it
    cached = _PARSED.get(key)
    if cached is not None and cached[0] == raw:
        return cached[1]
    template = _load(path, raw)
    with _PARSED_LOCK:
        if len(_PARSED) >= _PARSED_MAX and key not in _PARSED:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[key] = (raw, template)
    return template


_PARSED: dict[str, tuple[bytes, Template]] = {}  # path → (the bytes it was parsed from, the template)
_PARSED_LOCK = threading.Lock()
_PARSED_MAX = 64


def _load(path: Path, raw: bytes) -> Template:
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise LabelError(f"template {path}: not UTF-8 text ({exc.reason})", code="bad_template") from exc
    except tomllib.TOMLDecodeError as exc:
        raise LabelError(f"template {path}: not valid TOML: {exc}", code="bad_template") from exc
    try:
        return _parse(path, data)
    except _Bad as bad:
        raise LabelError(f"template {path}: {bad}", code="bad_template") from None


class _Bad(Exception):
    """A reason a template is refused; ``load_template_file`` adds the file name."""


def _parse(path: Path, data: dict[str, Any]) -> Template:
    _only(data, "the file", {"label", "fields", "element"})
    label = _table(data, "label", "the file")
    _only(label, "[label]", {"description", "width_mm", "height_mm", "font", "font_index"})
    width = _number(label, "width_mm", "[label]", positive=True)
    height = _number(label, "height_mm", "[label]", positive=True)
    description = _string(label, "description", "[label]", default="")
    font = label.get("font")
    if font is not None:
        if not isinstance(font, str) or not font:
            raise _Bad("[label] font must be a path (a string)")
        font = (path.parent / Path(font).expanduser()).resolve()
    font_index = label.get("font_index")
    if font_index is not None and (not isinstance(font_index, int) or isinstance(font_index, bool) or font_index < 0):
        raise _Bad("[label] font_index must be a whole number ≥ 0")

    fields = _parse_fields(_table(data, "fields", "the file"))
    raw_elements = data.get("element")
    if not isinstance(raw_elements, list) or not raw_elements:
        raise _Bad("no [[element]]: a label needs at least one thing on it")
    elements = tuple(
        _parse_element(i, raw, fields, width, height) for i, raw in enumerate(raw_elements, start=1)
    )
    _check_quiet_zones(elements)
    return Template(
        name=path.stem, path=path, description=description, width_mm=width, height_mm=height,
        fields=fields, elements=elements, font=font, font_index=font_index,
    )


def _parse_fields(table: dict[str, Any]) -> dict[str, FieldSpec]:
    if not table:
        raise _Bad("[fields] is empty: declare every field the elements use")
    fields = {}
    for name, spec in table.items():
        if not _NAME.match(name):
            raise _Bad(f"[fields] {name!r} is not a valid field name (lower case, digits, _)")
        if isinstance(spec, str):
            fields[name] = FieldSpec(name, spec, True)
        elif isinstance(spec, dict):
            _only(spec, f"[fields] {name}", {"about", "required"})
            required = spec.get("required", True)
            if not isinstance(required, bool):
                raise _Bad(f"[fields] {name}.required must be true or false")
            fields[name] = FieldSpec(name, _string(spec, "about", f"[fields] {name}", default=""), required)
        else:
            raise _Bad(f"[fields] {name} must be a description string or {{ about = ..., required = ... }}")
    return fields


_BOX_KEYS = {"x_mm", "y_mm", "width_mm", "height_mm"}
_KEYS = {
    "text": _BOX_KEYS | {"kind", "text", "size_pt", "bold", "align", "style", "overflow", "min_pt",
                         "lines", "when", "values"},
    "barcode": _BOX_KEYS | {"kind", "field", "text_pt", "quiet_zone_modules", "max_module_dots", "when"},
    "rule": _BOX_KEYS | {"kind", "when"},
}


def _parse_element(
    i: int, raw: Any, fields: Mapping[str, FieldSpec], width: float, height: float
) -> Element:
    if not isinstance(raw, dict):
        raise _Bad(f"element {i} must be a table")
    kind = raw.get("kind")
    where = f"element {i} ({kind})"
    if kind not in _KEYS:
        raise _Bad(f"element {i}: kind must be one of {', '.join(_KEYS)}, not {kind!r}")
    _only(raw, where, _KEYS[kind])
    box = Box(*(_number(raw, k, where, positive=k in {"width_mm", "height_mm"}, minimum=0)
                for k in ("x_mm", "y_mm", "width_mm", "height_mm")))
    if box.x_mm + box.width_mm > width + _EPSILON_MM or box.y_mm + box.height_mm > height + _EPSILON_MM:
        raise _Bad(
            f"{where}: box {box.x_mm}+{box.width_mm} × {box.y_mm}+{box.height_mm} mm "
            f"runs off the {width} × {height} mm label"
        )
    when = raw.get("when")
    if when is not None:
        _known_field(when, fields, f"{where} when")

    if kind == "rule":
        return RuleElement(box, when)

    if kind == "barcode":
        name = _string(raw, "field", where)
        _known_field(name, fields, where)
        text_pt = _number(raw, "text_pt", where, default=7.0, minimum=0)
        quiet = _integer(raw, "quiet_zone_modules", where, default=MIN_QUIET_ZONE_MODULES)
        if quiet < MIN_QUIET_ZONE_MODULES:
            raise _Bad(f"{where}: quiet_zone_modules is {quiet}; Code 128 needs at least {MIN_QUIET_ZONE_MODULES}")
        max_module = raw.get("max_module_dots")
        if max_module is not None:
            max_module = _integer(raw, "max_module_dots", where)
            if max_module < 2:
                raise _Bad(f"{where}: max_module_dots must be at least 2")
        if text_pt * POINT_MM >= box.height_mm * 0.6:
            raise _Bad(f"{where}: text_pt {text_pt} leaves too little of the {box.height_mm} mm box for bars")
        return BarcodeElement(box, name, text_pt, quiet, max_module, when)

    text = _string(raw, "text", where)
    try:
        used = {f for _lit, f, _spec, _conv in string.Formatter().parse(text) if f is not None}
    except ValueError as exc:
        raise _Bad(f"{where}: text {text!r} is not a valid format string: {exc}") from None
    for name in used:
        if not name or not _NAME.match(name):
            raise _Bad(f"{where}: text {text!r} must name its fields, like {{serial}}")
        _known_field(name, fields, where)
    size = _number(raw, "size_pt", where, positive=True)
    min_pt = _number(raw, "min_pt", where, default=min(5.0, size), positive=True)
    if min_pt > size:
        raise _Bad(f"{where}: min_pt {min_pt} is larger than size_pt {size}")
    lines = _integer(raw, "lines", where, default=1)
    if lines < 1:
        raise _Bad(f"{where}: lines must be at least 1")
    align = _choice(raw, "align", where, ("left", "center", "right"))
    style = _choice(raw, "style", where, ("plain", "inverse", "frame"))
    overflow = _choice(raw, "overflow", where, ("shrink", "ellipsis"))
    bold = raw.get("bold", False)
    if not isinstance(bold, bool):
        raise _Bad(f"{where}: bold must be true or false")
    values = _parse_values(raw.get("values", {}), used, where)
    padding = 2 * FRAME_PADDING_MM if style != "plain" else 0.0
    needed = size * POINT_MM * (1 + LINE_SPACING * (lines - 1))
    if needed > box.height_mm - padding + _EPSILON_MM:
        raise _Bad(
            f"{where}: {lines} line(s) of {size} pt need {needed:.2f} mm but the box leaves "
            f"{box.height_mm - padding:.2f} mm"
        )
    return TextElement(box, text, size, bold, align, style, overflow, min_pt, lines, when, values)


def _parse_values(raw: Any, used: set[str], where: str) -> dict[str, dict[str, str]]:
    if not isinstance(raw, dict):
        raise _Bad(f"{where}: values must be a table {{ field = {{ value = \"shown\" }} }}")
    out = {}
    for name, mapping in raw.items():
        if name not in used:
            raise _Bad(f"{where}: values.{name} is for a field the text does not show")
        if not isinstance(mapping, dict) or not mapping or not all(isinstance(v, str) for v in mapping.values()):
            raise _Bad(f"{where}: values.{name} must map each value to the words shown")
        out[name] = dict(mapping)
    return out


def _check_quiet_zones(elements: tuple[Element, ...]) -> None:
    for i, element in enumerate(elements, start=1):
        if not isinstance(element, BarcodeElement):
            continue
        for j, other in enumerate(elements, start=1):
            if j != i and element.box.overlaps(other.box):
                raise _Bad(
                    f"element {j} ({other.kind}) overlaps the barcode of {element.field!r} (element {i}): "
                    "its bars and quiet zones must stay clear"
                )


def _only(table: dict[str, Any], where: str, allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise _Bad(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise _Bad(f"{where}: missing the [{key}] table")
    return value


def _number(
    table: dict[str, Any], key: str, where: str, *, default: float | None = None,
    positive: bool = False, minimum: float | None = None,
) -> float:
    value = table.get(key, default)
    if value is None:
        raise _Bad(f"{where}: missing {key}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(f"{where}: {key} must be a number, not {value!r}")
    if positive and value <= 0:
        raise _Bad(f"{where}: {key} must be greater than 0, not {value}")
    if minimum is not None and value < minimum:
        raise _Bad(f"{where}: {key} must be at least {minimum}, not {value}")
    return float(value)


def _integer(table: dict[str, Any], key: str, where: str, *, default: int | None = None) -> int:
    value = table.get(key, default)
    if value is None:
        raise _Bad(f"{where}: missing {key}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(f"{where}: {key} must be a whole number, not {value!r}")
    return value


def _string(table: dict[str, Any], key: str, where: str, *, default: str | None = None) -> str:
    value = table.get(key, default)
    if value is None:
        raise _Bad(f"{where}: missing {key}")
    if not isinstance(value, str):
        raise _Bad(f"{where}: {key} must be a string, not {value!r}")
    return value


def _choice(table: dict[str, Any], key: str, where: str, choices: tuple[str, ...]) -> Any:
    value = table.get(key, choices[0])
    if value not in choices:
        raise _Bad(f"{where}: {key} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _known_field(name: Any, fields: Mapping[str, FieldSpec], where: str) -> None:
    if not isinstance(name, str) or name not in fields:
        raise _Bad(f"{where}: uses field {name!r}, which [fields] does not declare")
