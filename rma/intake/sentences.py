"""The sentences of the logistics clerk's ledger events (see ``rma/sentences.py``)."""

from __future__ import annotations

from rma.sentences import (
    Details,
    Lookups,
    Words,
    detail_clauses,
    sentence,
    warranty_phrase,
)


@sentence("opened", "Opened")
def _opened(d: Details, _: Words, look: Lookups) -> list[str | None]:
    """A unit received: what the dealer says, the parcel, warranty, repeat return, interceptions."""
    reason = d.get("reason")
    return [
        _("return reason {x}", x=_.quote(reason)) if reason else (
            _("reason code {x}", x=d["reason_code"]) if d.get("reason_code") else None),
        _("parcel {x}", x=d["parcel"]) if d.get("parcel") else None,
        warranty_phrase(d.get("warranty"), d.get("warranty_until"), _),
        *detail_clauses(d, _, look, skip=("reason", "reason_code", "parcel", "warranty", "warranty_until",
                                          "accessories")),
        _("accessories received: {x}", x=d["accessories"]) if d.get("accessories") else None,
    ]


@sentence("to_bench", "Handed to the bench")
def _to_bench(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [_("parcel {x} closed", x=d["parcel"]) if d.get("parcel") else None,
            *detail_clauses(d, _, look, skip=("parcel",))]


@sentence("accessories_checked", "Accessories checked")
def _accessories_checked(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [_("received: {x}", x=d["accessories"]) if d.get("accessories") else _("none received"),
            _("missing: {x}", x=d["missing"]) if d.get("missing") else None,
            *detail_clauses(d, _, look, skip=("accessories", "missing"))]


@sentence("reason_recorded", "Reason recorded")
def _reason_recorded(d: Details, _: Words, look: Lookups) -> list[str | None]:
    """The clerk or the lead records or corrects the dealer's complaint after intake."""
    return [_("reason code {x}", x=d["reason_code"]) if d.get("reason_code") else None,
            _("return reason {x}", x=_.quote(d["reason"])) if d.get("reason") else None,
            *detail_clauses(d, _, look, skip=("reason", "reason_code"))]


@sentence("alert_done", "Interception done")
def _alert_done(d: Details, _: Words, look: Lookups) -> list[str | None]:
    """An interception alert's action was carried out (by a worker, or by a service on its own)."""
    return [_("plan: {x}", x=_.quote(d["action"])) if d.get("action") else None,
            _("done: {x}", x=_.quote(d["note"])) if d.get("note") else None,
            _("recorded by the system") if d.get("by_system") else None,
            *detail_clauses(d, _, look, skip=("alert", "interception", "action", "note", "by_system"))]


@sentence("alert_waived", "Interception waived")
def _alert_waived(d: Details, _: Words, look: Lookups) -> list[str | None]:
    return [_("plan: {x}", x=_.quote(d["action"])) if d.get("action") else None,
            _("why: {x}", x=_.quote(d["note"])) if d.get("note") else None,
            *detail_clauses(d, _, look, skip=("alert", "interception", "action", "note"))]


def _shipment(d: Details, _: Words, look: Lookups) -> list[str | None]:
    customer, courier, waybill = d.get("customer"), d.get("courier"), d.get("waybill")
    if courier or waybill:
        how = (_("to {customer} by {courier}, waybill {waybill}", customer=customer, courier=courier, waybill=waybill)
               if customer else _("by {courier}, waybill {waybill}", courier=courier, waybill=waybill))
    else:
        how = _("to {customer}", customer=customer) if customer else None
    return [how, *detail_clauses(d, _, look, skip=("customer", "courier", "waybill"))]


sentence("shipped", "Shipped")(_shipment)  # a visit closes as shipped
sentence("left_depot", "Left the depot")(_shipment)  # a unit from stock, on its last visit's timeline
