"""The parts catalogue: suppliers, bins, part numbers, bills of materials, programmed ICs,
and the part that stands for a refurbished unit of each model."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from rma.core.ledger import record_audit
from rma.core.models import ProductModel, Role, User
from rma.core.parse import clean_key, clean_text
from rma.core.services import require_role
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.inventory.amounts import money_text, parse_cost, parse_qty, qty_text
from rma.inventory.ledger import find_bin, find_location, find_part, part_key, valid_key
from rma.inventory.models import (
    CATEGORIES,
    UNITS_OF_MEASURE,
    VIRTUAL_CODES,
    BomLine,
    LocationKind,
    Part,
    StockLocation,
    Supplier,
)

KEEPERS = (Role.MATERIALS, Role.SUPERVISOR, Role.ADMIN)  # who keeps the catalogue
BOM_KEEPERS = (Role.MATERIALS, Role.LEAD, Role.SUPERVISOR, Role.ADMIN)
PROGRAMMERS = (Role.MATERIALS, Role.TECHNICIAN, Role.LEAD)
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$")
BIN_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,31}$")
DESIGNATOR_RE = re.compile(r"^[A-Z][A-Z0-9_-]{0,31}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def _code(value: str | None, what: str) -> str:
    code = clean_key(value, what)
    if not CODE_RE.match(code):
        raise DomainError("bad_code", "{what} code {code!r}: 1-32 characters A-Z, 0-9, dot, dash, underscore",
                          what=what, code=(value or "")[:40])
    return code


def designator_of(raw: str | None, *, required: bool = True) -> str | None:
    """A reference designator as printed on the board: U12, C45, LCD1."""
    value = clean_key(raw, "designator")
    if not value and not required:
        return None
    if not DESIGNATOR_RE.match(value):
        raise DomainError("bad_designator", "{designator!r} is not a reference designator (e.g. U12, C45, LCD1)",
                          designator=(raw or "")[:40])
    return value


# ---------------------------------------------------------------- suppliers and bins

def add_supplier(uow: UnitOfWork, actor: User, code: str, name: str) -> Supplier:
    require_role(actor, *KEEPERS, action="keep the parts catalogue")
    code = _code(code, "supplier")
    name = clean_text(name, "supplier name", column=Supplier.name, required=True)
    if uow.session.scalar(select(Supplier.id).where(Supplier.code == code)) is not None:
        raise DomainError("supplier_exists", "supplier {code} already exists", code=code)
    supplier = Supplier(code=code, name=name)
    uow.session.add(supplier)
    uow.session.flush()
    record_audit(uow, actor, "supplier_added", code, {"name": name})
    return supplier


def list_suppliers(uow: UnitOfWork) -> list[dict[str, Any]]:
    return [{"code": s.code, "name": s.name} for s in uow.session.scalars(select(Supplier).order_by(Supplier.code))]


def find_supplier(uow: UnitOfWork, code: str | None) -> Supplier:
    key = clean_key(code, "supplier")
    supplier = uow.session.scalar(select(Supplier).where(Supplier.code == key)) if key and len(key) <= 32 else None
    if supplier is None:
        raise DomainError("unknown_supplier", "no supplier {code!r}", code=(code or "")[:40])
    return supplier


def add_bin(uow: UnitOfWork, actor: User, code: str, name: str | None = None) -> StockLocation:
    """A shelf location of the store, e.g. ``A-03-2``."""
    require_role(actor, *KEEPERS, action="keep the parts catalogue")
    key = clean_key(code, "bin")
    if not BIN_RE.match(key) or key in VIRTUAL_CODES.values():
        raise DomainError("bad_bin", "{bin!r} is not a bin code (1-32 characters A-Z, 0-9, dash; not {reserved})",
                          bin=(code or "")[:40], reserved=", ".join(sorted(VIRTUAL_CODES.values())))
    name = clean_text(name, "bin name", column=StockLocation.name)
    if find_location(uow, key) is not None:
        raise DomainError("bin_exists", "bin {bin} already exists", bin=key)
    loc = StockLocation(code=key, kind=LocationKind.BIN.value, name=name, active=True, created_at=uow.now())
    uow.session.add(loc)
    uow.session.flush()
    record_audit(uow, actor, "bin_added", key, {"name": name})
    return loc


def list_bins(uow: UnitOfWork) -> list[dict[str, Any]]:
    from rma.inventory.models import StockBalance

    rows = uow.session.execute(
        select(StockLocation.code, StockLocation.kind, StockLocation.name,
               func.count(StockBalance.part_id).filter(StockBalance.qty_milli > 0))
        .outerjoin(StockBalance, StockBalance.location_id == StockLocation.id)
        .where(StockLocation.kind.in_([LocationKind.BIN.value, LocationKind.UNIT_STORE.value]))
        .group_by(StockLocation.id, StockLocation.code, StockLocation.kind, StockLocation.name)
        .order_by(StockLocation.code)).all()
    return [{"code": c, "kind": k, "name": n, "parts": p} for c, k, n, p in rows]


# ---------------------------------------------------------------- parts

def _names(name_zh: str | None, name_en: str | None) -> tuple[str, str]:
    zh = clean_text(name_zh, "Chinese name", column=Part.name_zh)
    en = clean_text(name_en, "English name", column=Part.name_en)
    if not zh and not en:
        raise DomainError("text_required", "{field} is required", field="part name")
    return zh or en, en or zh


def _new_part_number(raw: str | None) -> str:
    key = part_key(raw)
    if not key or len(key) > 40 or not valid_key(key):
        raise DomainError("bad_part_number", "{part!r} is not a part number (1-40 characters: A-Z, 0-9, . _ / + # -)",
                          part=(raw or "")[:40])
    return key


def add_part(uow: UnitOfWork, actor: User, *, part_number: str, name_zh: str | None, name_en: str | None,
             category: str, uom: str = "each", abc: str = "C", spec: str | None = None,
             safety_stock: Any = None, reorder_qty: Any = None, unit_cost: Any = None,
             supplier_barcode: str | None = None, home_bin: str | None = None) -> Part:
    """A new part number in the catalogue."""
    require_role(actor, *KEEPERS, action="keep the parts catalogue")
    return _create_part(uow, actor, part_number=part_number, name_zh=name_zh, name_en=name_en, category=category,
                        uom=uom, abc=abc, spec=spec, safety_stock=safety_stock, reorder_qty=reorder_qty,
                        unit_cost=unit_cost, supplier_barcode=supplier_barcode, home_bin=home_bin)


def _create_part(uow: UnitOfWork, actor: User, *, part_number: str, name_zh: str | None, name_en: str | None,
                 category: str, uom: str, abc: str, spec: str | None, safety_stock: Any = None,
                 reorder_qty: Any = None, unit_cost: Any = None, supplier_barcode: str | None = None,
                 home_bin: str | None = None) -> Part:
    number = _new_part_number(part_number)
    zh, en = _names(name_zh, name_en)
    category = _category(category)
    uom = (uom or "").strip().lower()
    if uom not in UNITS_OF_MEASURE:
        raise DomainError("bad_uom", "unit of measure {uom!r}; units are: {known}", uom=uom[:40],
                          known=", ".join(UNITS_OF_MEASURE))
    abc = _abc(abc)
    decimals = UNITS_OF_MEASURE[uom]
    barcode = None
    if supplier_barcode:
        barcode = part_key(supplier_barcode)
        if not valid_key(barcode):
            raise DomainError("bad_part_number", "{part!r} is not a part number (1-40 characters: A-Z, 0-9, . _ / + # -)",
                              part=supplier_barcode[:40])
    for key in filter(None, (number, barcode)):
        if uow.session.scalar(select(Part.id).where((Part.part_number == key) | (Part.supplier_barcode == key))):
            raise DomainError("part_exists", "a part with number or barcode {part} already exists", part=key)
    part = Part(part_number=number, name_zh=zh, name_en=en, spec=clean_text(spec, "specification", column=Part.spec),
                category=category, uom=uom, decimals=decimals, abc=abc,
                safety_stock_milli=_optional_qty(safety_stock, decimals, uom, number),
                reorder_qty_milli=_optional_qty(reorder_qty, decimals, uom, number),
                unit_cost_e4=parse_cost(unit_cost) if unit_cost not in (None, "") else 0,
                supplier_barcode=barcode, home_bin_id=find_bin(uow, home_bin).id if home_bin else None,
                active=True, created_at=uow.now())
    uow.session.add(part)
    uow.session.flush()
    record_audit(uow, actor, "part_added", number, {"name_zh": zh, "category": category, "abc": abc})
    return part


def _category(raw: str | None) -> str:
    category = (raw or "").strip().lower()
    if category not in CATEGORIES:
        raise DomainError("bad_category", "category {category!r}; categories are: {known}",
                          category=category[:40], known=", ".join(CATEGORIES))
    return category


def _abc(raw: str | None) -> str:
    abc = (raw or "").strip().upper()
    if abc not in ("A", "B", "C"):
        raise DomainError("bad_abc", "ABC class {abc!r}: A, B or C", abc=(raw or "")[:10])
    return abc


def _optional_qty(raw: Any, decimals: int, uom: str, part: str) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    return parse_qty(raw, decimals=decimals, uom=uom, part=part, allow_zero=True)


def set_part(uow: UnitOfWork, actor: User, part_number: str, *, abc: str | None = None, safety_stock: Any = None,
             reorder_qty: Any = None, home_bin: str | None = None) -> Part:
    """Change what the stores decide about a part: its class, safety stock, reorder quantity, home bin."""
    require_role(actor, *KEEPERS, action="keep the parts catalogue")
    part = find_part(uow, part_number)
    changed: dict[str, Any] = {}
    if abc is not None:
        part.abc = changed["abc"] = _abc(abc)
    if safety_stock is not None:
        part.safety_stock_milli = _optional_qty(safety_stock, part.decimals, part.uom, part.part_number)
        changed["safety_stock"] = qty_text(part.safety_stock_milli, part.decimals) or None
    if reorder_qty is not None:
        part.reorder_qty_milli = _optional_qty(reorder_qty, part.decimals, part.uom, part.part_number)
        changed["reorder_qty"] = qty_text(part.reorder_qty_milli, part.decimals) or None
    if home_bin is not None:
        part.home_bin_id = find_bin(uow, home_bin).id
        changed["home_bin"] = home_bin.strip().upper()
    record_audit(uow, actor, "part_changed", part.part_number, changed)
    return part


def part_dict(part: Part) -> dict[str, Any]:
    return {
        "part_number": part.part_number, "name_zh": part.name_zh, "name_en": part.name_en, "spec": part.spec,
        "category": part.category, "uom": part.uom, "decimals": part.decimals, "abc": part.abc,
        "safety_stock": qty_text(part.safety_stock_milli, part.decimals) or None,
        "reorder_qty": qty_text(part.reorder_qty_milli, part.decimals) or None,
        "unit_cost": money_text(part.unit_cost_e4, 4), "supplier_barcode": part.supplier_barcode,
        "home_bin": part.home_bin.code if part.home_bin else None,
        "blank_part": None, "firmware_sha256": part.firmware_sha256, "firmware_version": part.firmware_version,
        "model": part.model.code if part.model else None, "active": part.active,
    }


def list_parts(uow: UnitOfWork, *, search: str | None = None, category: str | None = None,
               abc: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    q = select(Part).order_by(Part.part_number).limit(limit)
    if search:
        term = clean_text(search, "search", limit=100)
        if term:
            like = f"%{term}%"
            q = q.where(Part.part_number.ilike(like) | Part.name_zh.ilike(like) | Part.name_en.ilike(like)
                        | Part.spec.ilike(like))
    if category:
        q = q.where(Part.category == _category(category))
    if abc:
        q = q.where(Part.abc == _abc(abc))
    blanks = dict(uow.session.execute(select(Part.id, Part.part_number).where(
        Part.id.in_(select(Part.blank_part_id).where(Part.blank_part_id.is_not(None))))).all())
    out = []
    for part in uow.session.scalars(q):
        d = part_dict(part)
        d["blank_part"] = blanks.get(part.blank_part_id)
        out.append(d)
    return out


# ---------------------------------------------------------------- bills of materials

def _model(uow: UnitOfWork, code: str | None) -> ProductModel:
    key = clean_key(code, "model")
    model = uow.session.scalar(select(ProductModel).where(ProductModel.code == key)) if key and len(key) <= 32 else None
    if model is None:
        raise DomainError("unknown_model", "no model {code!r}", code=(code or "")[:40])
    return model


def add_bom_line(uow: UnitOfWork, actor: User, model_code: str, designator: str, part_number: str,
                 quantity: Any = 1) -> BomLine:
    """The part at ``designator`` of a model (one line per designator)."""
    require_role(actor, *BOM_KEEPERS, action="keep the bills of materials")
    model = _model(uow, model_code)
    ref = designator_of(designator)
    part = find_part(uow, part_number)
    qty = parse_qty(quantity, decimals=part.decimals, uom=part.uom, part=part.part_number)
    if uow.session.scalar(select(BomLine.id).where(BomLine.model_id == model.id, BomLine.designator == ref)):
        raise DomainError("bom_line_exists", "{model} already has a part at {designator}", model=model.code,
                          designator=ref)
    line = BomLine(model_id=model.id, designator=ref, part_id=part.id, qty_milli=qty)
    uow.session.add(line)
    uow.session.flush()
    record_audit(uow, actor, "bom_line_added", f"{model.code} {ref}", {"part": part.part_number})
    return line


def bom_of_model(uow: UnitOfWork, model_code: str) -> list[dict[str, Any]]:
    """The model's parts list: designator, part number, name (zh/en), quantity per unit."""
    model = _model(uow, model_code)
    lines = uow.session.scalars(select(BomLine).where(BomLine.model_id == model.id))
    out = [{"designator": b.designator, "part_number": b.part.part_number, "name_zh": b.part.name_zh,
            "name_en": b.part.name_en, "quantity": qty_text(b.qty_milli, b.part.decimals), "uom": b.part.uom,
            "category": b.part.category} for b in lines]
    return sorted(out, key=lambda r: _designator_order(r["designator"]))


def _designator_order(ref: str) -> tuple[str, int, str]:
    m = re.match(r"^([A-Z_-]*)(\d*)(.*)$", ref)
    return (m.group(1), int(m.group(2) or 0), m.group(3)) if m else (ref, 0, "")


def bom_at(uow: UnitOfWork, model_id: int, designator: str) -> BomLine | None:
    return uow.session.scalar(select(BomLine).where(BomLine.model_id == model_id, BomLine.designator == designator))


def where_used(uow: UnitOfWork, part: Part) -> list[dict[str, Any]]:
    rows = uow.session.execute(select(ProductModel.code, BomLine.designator, BomLine.qty_milli)
                               .join(ProductModel, ProductModel.id == BomLine.model_id)
                               .where(BomLine.part_id == part.id).order_by(ProductModel.code, BomLine.designator))
    return [{"model": m, "designator": d, "quantity": qty_text(q, part.decimals)} for m, d, q in rows]


# ---------------------------------------------------------------- programmed ICs

def add_programmed_part(uow: UnitOfWork, actor: User, *, blank_part_number: str, firmware_sha256: str,
                        firmware_version: str, part_number: str | None = None, name_zh: str | None = None,
                        name_en: str | None = None) -> dict[str, Any]:
    """A programmed IC as its own part number, naming its blank part and the firmware it carries.

    The same blank with the same firmware again gives the part made before (``created`` false).
    """
    require_role(actor, *PROGRAMMERS, action="add programmed parts")
    blank = find_part(uow, blank_part_number)
    if blank.blank_part_id is not None:
        raise DomainError("not_a_blank", "{part} is itself a programmed part; name its blank part",
                          part=blank.part_number)
    sha = (firmware_sha256 or "").strip().lower()
    if not SHA256_RE.match(sha):
        raise DomainError("bad_sha256", "{sha!r} is not a SHA-256 (64 hexadecimal digits)", sha=(firmware_sha256 or "")[:70])
    version = clean_text(firmware_version, "firmware version", column=Part.firmware_version, required=True)
    known = uow.session.scalar(select(Part).where(Part.blank_part_id == blank.id, Part.firmware_sha256 == sha))
    if known is not None:
        return {**part_dict(known), "blank_part": blank.part_number, "created": False}
    number = _new_part_number(part_number or f"{blank.part_number}-P{re.sub(r'[^A-Z0-9.]', '', version.upper())}"[:40])
    part = _create_part(uow, actor, part_number=number,
                    name_zh=name_zh or f"{blank.name_zh}（已烧录 {version}）",
                    name_en=name_en or f"{blank.name_en} (programmed {version})",
                    category=blank.category, uom=blank.uom, abc=blank.abc, spec=blank.spec)
    part.blank_part_id, part.firmware_sha256, part.firmware_version = blank.id, sha, version
    part.unit_cost_e4 = blank.unit_cost_e4
    uow.session.flush()
    return {**part_dict(part), "blank_part": blank.part_number, "created": True}


# ---------------------------------------------------------------- refurbished units

def unit_part(uow: UnitOfWork, actor: User, model: ProductModel) -> Part:
    """The part that stands for a refurbished unit of ``model`` in the refurbished-unit store."""
    part = uow.session.scalar(select(Part).where(Part.model_id == model.id))
    if part is not None:
        return part
    part = Part(part_number=f"RU-{model.code}"[:40], name_zh=f"翻新机 {model.code}",
                name_en=f"Refurbished unit {model.code}", spec=model.name[:200], category="unit", uom="each",
                decimals=0, abc="A", unit_cost_e4=0, model_id=model.id, active=True, created_at=uow.now())
    uow.session.add(part)
    uow.session.flush()
    record_audit(uow, actor, "part_added", part.part_number, {"model": model.code, "category": "unit"})
    return part
