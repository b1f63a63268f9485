"""The catalogue: product models (with the serial patterns that tell a unit's model) and customers."""

from __future__ import annotations

import re
from functools import lru_cache

from sqlalchemy import select

from rma.core.ledger import record_audit
from rma.core.models import Customer, ProductModel, Role, User
from rma.core.parse import clean_text
from rma.core.services import normalise_key, require_role, usable_key
from rma.db import UnitOfWork
from rma.errors import DomainError

FAMILIES = ("head_unit", "navigation", "dash_cam", "cluster", "ecu")
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$")
ACCESSORY_MAX = 200  # an accessory's name, as the checklist shows it


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _code(value: str, what: str) -> str:
    code = (value or "").strip().upper()
    if not CODE_RE.match(code):
        raise DomainError("bad_code", "{what} code {code!r}: 1-32 characters A-Z, 0-9, dot, dash, underscore",
                          what=what, code=(value or "")[:40])
    return code


def add_model(
    uow: UnitOfWork, actor: User, *, code: str, name: str, serial_pattern: str, warranty_months: int,
    family: str = "head_unit", firmware_version: str | None = None, accessories: list[str] | None = None,
) -> ProductModel:
    require_role(actor, Role.ADMIN, Role.SUPERVISOR, action="add product models")
    code = _code(code, "model")
    name = clean_text(name, "model name", column=ProductModel.name, required=True)
    serial_pattern = clean_text(serial_pattern, "serial pattern", column=ProductModel.serial_pattern, required=True)
    firmware_version = clean_text(firmware_version, "firmware", column=ProductModel.firmware_version)
    accessories = [clean_text(a, "accessory", limit=ACCESSORY_MAX, required=True) for a in (accessories or [])]
    try:
        re.compile(serial_pattern)
    except re.error as exc:
        raise DomainError("bad_pattern", "serial pattern {pattern!r} is not a valid regular expression: {reason}",
                          pattern=serial_pattern, reason=str(exc)) from None
    if family not in FAMILIES:
        raise DomainError("bad_family", "family {family!r}; families are: {known}", family=family, known=", ".join(FAMILIES))
    if isinstance(warranty_months, bool) or not 0 <= int(warranty_months) <= 120:
        raise DomainError("bad_warranty", "warranty months must be between 0 and 120")
    if uow.session.scalar(select(ProductModel.id).where(ProductModel.code == code)):
        raise DomainError("model_exists", "model {code} already exists", code=code)
    model = ProductModel(code=code, name=name, family=family, serial_pattern=serial_pattern,
                         warranty_months=int(warranty_months), firmware_version=firmware_version,
                         accessories=list(accessories or []))
    uow.session.add(model)
    uow.session.flush()
    record_audit(uow, actor, "model_added", code, {"serial_pattern": serial_pattern, "warranty_months": warranty_months})
    return model


def add_customer(uow: UnitOfWork, actor: User, *, code: str, name: str, region: str | None = None,
                 contact: str | None = None) -> Customer:
    require_role(actor, Role.ADMIN, Role.SUPERVISOR, Role.CLERK, action="add customers")
    code = _code(code, "customer")
    if not (name or "").strip():
        raise DomainError("name_required", "a customer needs a name")
    name = clean_text(name, "customer name", column=Customer.name)
    region = clean_text(region, "region", column=Customer.region)
    contact = clean_text(contact, "contact", column=Customer.contact)
    if uow.session.scalar(select(Customer.id).where(Customer.code == code)):
        raise DomainError("customer_exists", "customer {code} already exists", code=code)
    customer = Customer(code=code, name=name, region=region, contact=contact)
    uow.session.add(customer)
    uow.session.flush()
    record_audit(uow, actor, "customer_added", code, {"name": customer.name})
    return customer


def get_model(uow: UnitOfWork, code: str) -> ProductModel:
    key = normalise_key(code)
    model = uow.session.scalar(select(ProductModel).where(ProductModel.code == key)) if usable_key(key) else None
    if model is None:
        raise DomainError("unknown_model", "no product model {code}", code=(code or "")[:40])
    return model


def get_customer(uow: UnitOfWork, code: str) -> Customer:
    key = normalise_key(code)
    customer = uow.session.scalar(select(Customer).where(Customer.code == key)) if usable_key(key) else None
    if customer is None:
        raise DomainError("unknown_customer", "no customer {code}", code=(code or "")[:40])
    return customer


def list_models(uow: UnitOfWork) -> list[ProductModel]:
    return list(uow.session.scalars(select(ProductModel).order_by(ProductModel.code)))


def list_customers(uow: UnitOfWork) -> list[Customer]:
    return list(uow.session.scalars(select(Customer).order_by(Customer.code)))


def match_models(uow: UnitOfWork, serial: str) -> list[ProductModel]:
    """Every model whose serial pattern matches ``serial`` (full match)."""
    return [m for m in list_models(uow) if _compiled(m.serial_pattern).fullmatch(serial)]


_REGEX_SYNTAX = set(".^$*+?{}[]|()\\")


def literal_prefix(pattern: str) -> str:
    """The fixed characters every serial of a pattern starts with: ``^HU88\\d{6}$`` -> ``HU88``."""
    text = pattern[2:] if pattern.startswith("\\A") else pattern.lstrip("^")
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and not text[i + 1].isalnum():
            out.append(text[i + 1])  # an escaped punctuation mark is itself
            i += 2
            continue
        if char in _REGEX_SYNTAX:
            break
        out.append(char)
        i += 1
    if out and i < len(text) and text[i] in "*?{":
        out.pop()  # the last character may repeat zero times: it is not fixed
    if i < len(text) and "|" in text[i:]:
        return ""  # alternatives: no one prefix
    return "".join(out)


def _shared(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def closest_models(uow: UnitOfWork, serial: str) -> list[dict]:
    """Every model, the likeliest for ``serial`` first, for a clerk who must pick one.

    Models whose pattern matches come first; then the longest run of characters the serial shares
    with the fixed start of the model's pattern (``HU8825301234`` is closer to ``^HU88\\d{6}$``
    than to ``^DC22\\d{6}$``); then the code. Each: ``code``, ``name``, ``prefix`` (the pattern's
    fixed start), ``shared`` (characters in common), ``matches``.
    """
    serial = (serial or "").strip().upper()
    guesses = []
    for m in list_models(uow):
        prefix = literal_prefix(m.serial_pattern)
        guesses.append({"code": m.code, "name": m.name, "prefix": prefix, "shared": _shared(serial, prefix.upper()),
                        "matches": bool(_compiled(m.serial_pattern).fullmatch(serial))})
    guesses.sort(key=lambda g: (not g["matches"], -g["shared"], g["code"]))
    return guesses
