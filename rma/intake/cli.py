"""Logistics commands: intake, parcels, catalogue, interceptions, shipping, the returns ledger."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rma.clikit import Context, one_line, progress_bar, terminal_safe
from rma.clikit import add_command as cmd
from rma.core.parse import parse_day
from rma.errors import DomainError
from rma.exports import csv_lines, csv_text


def _actor(ctx: Context, uow):  # noqa: ANN001, ANN202
    from rma.core.services import get_actor

    return get_actor(uow, ctx.actor_name())




def _read_file(path: Path, limit: int) -> bytes:
    """The file's bytes, never more than ``limit`` of them (``/dev/zero`` or a huge file is refused, not read)."""
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise DomainError("unreadable_file", "cannot read {path}: {reason}", path=str(path)[:200],
                          reason=getattr(exc, "strerror", None) or str(exc)) from None
    if len(data) > limit:
        raise DomainError("file_too_big", "the file {name} is larger than {mb} MB", name=str(path)[:200],
                          mb=limit // 2**20)
    return data


# ---------------------------------------------------------------- intake and parcels

def cmd_intake_receive(ctx: Context) -> int:
    """Each serial is its own unit of work. If the database goes away half-way, the serials
    received before are still printed (they are committed), then the error and what was not done."""
    from sqlalchemy.exc import SQLAlchemyError

    from rma.db import database_error
    from rma.intake import labelling, services

    a = ctx.args
    db = ctx.database()
    with db.uow() as uow:
        actor = _actor(ctx, uow)
        parcel, _ = services.receive_parcel(uow, actor, courier=a.courier, waybill=a.waybill,
                                            customer_code=a.customer, declared=a.declared, cost=a.cost)
        parcel_id = parcel.id
    results: list[dict[str, Any]] = []
    failed = False
    stopped: DomainError | None = None  # the database went away: nothing more is tried
    for n, serial in enumerate(a.serial):
        try:
            with db.uow() as uow:  # one scan, one unit of work
                from rma.intake.models import Parcel

                actor = _actor(ctx, uow)
                result = services.receive_unit(
                    uow, actor, uow.session.get(Parcel, parcel_id), serial, model_code=a.model,
                    reason_code=a.reason, reason_text=a.reason_text, accessories=a.accessory)
                data = result.as_dict()
                job_id = labelling.queue_unit_label(uow, actor, result.visit).id if result.created else None
        except DomainError as exc:
            failed = True
            results.append({"serial": serial, **exc.as_json()})
            continue
        except SQLAlchemyError as exc:
            stopped = database_error(exc)
            results.append({"serial": serial, **stopped.as_json()})
            results += [{"serial": s, **DomainError(
                "not_attempted", "not received: the database failed before this serial").as_json()}
                for s in a.serial[n + 1:]]
            break
        if job_id is not None and not a.no_print:
            try:
                data["label"] = labelling.print_job(db, job_id)
            except SQLAlchemyError as exc:  # the visit is committed: it is reported all the same
                stopped = database_error(exc)
                data["label"] = {"job": job_id, "status": "unknown", "error": stopped.message}
        results.append(data)
        if stopped is not None:
            results += [{"serial": s, **DomainError(
                "not_attempted", "not received: the database failed before this serial").as_json()}
                for s in a.serial[n + 1:]]
            break

    def text() -> str:
        lines = []
        for r in results:
            if "error" in r:
                lines.append(f"{r['serial']}: ERROR {r['error']['code']}: {r['error']['message']}")
                continue
            flags = [f"warranty {r['warranty']}" + (f" until {r['warranty_until']}" if r["warranty_until"] else "")]
            if r["repeat_of"]:
                flags.append(f"REPEAT of {r['repeat_of']}")
            flags += [f"INTERCEPT: {i['action']}" for i in r["interceptions"]]
            label = r.get("label")
            if label:
                flags.append(labelling.outcome_text(label))
            lines.append(f"{r['serial']} -> {r['tag']} {r['model']} {'new' if r['created'] else 'already scanned'}; "
                         + "; ".join(flags))
        return "\n".join(lines)

    ctx.out(results, text)
    for r in results:
        if "error" in r and r["error"]["code"] not in ("not_attempted", "database_error"):
            print(one_line(f"rma: {r['serial']}: {r['error']['message']}"), file=sys.stderr)
    if stopped is not None:
        received = sum(1 for r in results if "tag" in r)
        skipped = sum(1 for r in results if r.get("error", {}).get("code") == "not_attempted")
        print(one_line(f"rma: {stopped.message} ({received} serial(s) received before it, listed above; "
                       f"{skipped} not attempted)"), file=sys.stderr)
    return 1 if failed or stopped is not None else 0


def cmd_parcel_show(ctx: Context) -> int:
    from rma.intake import services

    with ctx.database().uow(readonly=True) as uow:
        report = services.parcel_report(uow, ctx.args.waybill, ctx.args.courier)

    def text() -> str:
        r = report
        lines = [f"{r['direction']} parcel {r['courier']} {r['waybill']}  {r['customer']} {r['customer_name'] or ''}",
                 f"declared {r['declared'] if r['declared'] is not None else '-'}  scanned {r['scanned']}  "
                 f"cost {r['cost'] or '-'}  opened {r['opened_at'][:16]} by {r['opened_by']}  "
                 + (f"closed {r['closed_at'][:16]} by {r['closed_by']}" if r["closed_at"] else "OPEN")
                 + (f"  {r['discrepancy'].upper()} DELIVERY" if r["discrepancy"] else "")]
        lines += [f"  {u.get('tag') or '-'}  {u['serial']}" for u in r["units"]]
        lines += [f"  attachment {x['filename']} ({x['size']} bytes, sha256 {x['sha256'][:12]}…)" for x in r["attachments"]]
        return "\n".join(lines)

    ctx.out(report, text)
    return 0


def cmd_parcel_close(ctx: Context) -> int:
    from rma.intake import services

    with ctx.database().uow() as uow:
        services.close_parcel(uow, _actor(ctx, uow), ctx.args.waybill, ctx.args.courier)
    with ctx.database().uow(readonly=True) as uow:
        report = services.parcel_report(uow, ctx.args.waybill, ctx.args.courier)
    ctx.out(report, f"closed {report['waybill']}: declared {report['declared']}, scanned {report['scanned']}"
            + (f" — {report['discrepancy']} delivery recorded" if report["discrepancy"] else ""))
    return 0


def cmd_parcel_attach(ctx: Context) -> int:
    from rma.intake import services

    path = Path(ctx.args.file)
    data = _read_file(path, services.MAX_ATTACHMENT_BYTES)
    with ctx.database().uow() as uow:
        att = services.attach_to_parcel(uow, _actor(ctx, uow), ctx.args.waybill, filename=path.name, data=data,
                                        courier=ctx.args.courier)
        out = {"sha256": att.sha256, "filename": att.filename, "size": att.size}
    ctx.out(out, f"attached {out['filename']} (sha256 {out['sha256']})")
    return 0


def cmd_visit_reason(ctx: Context) -> int:
    from rma.intake import services

    a = ctx.args
    with ctx.database().uow() as uow:
        visit = services.set_return_reason(uow, _actor(ctx, uow), a.tag, reason_code=a.reason, text=a.text)
        rec = services.intake_summary(uow, visit)
        data = {"tag": visit.tag, "reason_code": rec.get("reason_code"), "reason": visit.return_reason}
    ctx.out(data, f"{data['tag']}: return reason {data['reason']}")
    return 0


# ---------------------------------------------------------------- catalogue

def cmd_model_add(ctx: Context) -> int:
    from rma.core import catalogue

    a = ctx.args
    with ctx.database().uow() as uow:
        m = catalogue.add_model(uow, _actor(ctx, uow), code=a.code, name=a.name, serial_pattern=a.serial_pattern,
                                warranty_months=a.warranty_months, family=a.family, firmware_version=a.firmware,
                                accessories=a.accessory)
        data = _model_dict(m)
    ctx.out(data, f"added model {data['code']}")
    return 0


def _model_dict(m) -> dict[str, Any]:  # noqa: ANN001
    return {"code": m.code, "name": m.name, "family": m.family, "serial_pattern": m.serial_pattern,
            "warranty_months": m.warranty_months, "firmware_version": m.firmware_version,
            "accessories": list(m.accessories or [])}


def cmd_model_list(ctx: Context) -> int:
    from rma.core import catalogue

    with ctx.database().uow(readonly=True) as uow:
        rows = [_model_dict(m) for m in catalogue.list_models(uow)]
    ctx.out(rows, lambda: "\n".join(f"{r['code']:<10} {r['family']:<11} {r['warranty_months']:>3} mo  "
                                    f"{r['serial_pattern']:<30} {r['name']}" for r in rows))
    return 0


def cmd_customer_add(ctx: Context) -> int:
    from rma.core import catalogue

    a = ctx.args
    with ctx.database().uow() as uow:
        c = catalogue.add_customer(uow, _actor(ctx, uow), code=a.code, name=a.name, region=a.region, contact=a.contact)
        data = {"code": c.code, "name": c.name, "region": c.region, "contact": c.contact}
    ctx.out(data, f"added customer {data['code']}")
    return 0


def cmd_customer_list(ctx: Context) -> int:
    from rma.core import catalogue

    with ctx.database().uow(readonly=True) as uow:
        rows = [{"code": c.code, "name": c.name, "region": c.region, "contact": c.contact}
                for c in catalogue.list_customers(uow)]
    ctx.out(rows, lambda: "\n".join(f"{r['code']:<10} {r['region'] or '':<6} {r['name']}" for r in rows))
    return 0


def cmd_reason_add(ctx: Context) -> int:
    from rma.intake import services

    with ctx.database().uow() as uow:
        r = services.add_reason(uow, _actor(ctx, uow), ctx.args.code, ctx.args.text)
        data = {"code": r.code, "text": r.text}
    ctx.out(data, f"added reason {data['code']}: {data['text']}")
    return 0


def cmd_reason_list(ctx: Context) -> int:
    from rma.intake import services

    with ctx.database().uow(readonly=True) as uow:
        rows = [{"code": r.code, "text": r.text} for r in services.list_reasons(uow)]
    ctx.out(rows, lambda: "\n".join(f"{r['code']:<10} {r['text']}" for r in rows))
    return 0


# ---------------------------------------------------------------- interceptions

def cmd_intercept_add(ctx: Context) -> int:
    from rma.intake import services

    a = ctx.args
    with ctx.database().uow() as uow:
        plan = services.add_interception(
            uow, _actor(ctx, uow), model_code=a.model, action=a.action, serial_from=a.serial_from,
            serial_to=a.serial_to, made_from=parse_day(a.made_from), made_to=parse_day(a.made_to), firmware=a.firmware)
        data = services.interception_dict(plan)
    ctx.out(data, f"interception #{data['id']} on {data['model']} ({data['kind']}): {data['action']}")
    return 0


def cmd_intercept_list(ctx: Context) -> int:
    from rma.intake import services

    with ctx.database().uow(readonly=True) as uow:
        rows = [services.interception_dict(p) for p in services.list_interceptions(uow)]

    def scope(r: dict[str, Any]) -> str:
        if r["kind"] == "serial_range":
            return f"serial {r['serial_from']}..{r['serial_to']}"
        if r["kind"] == "made_range":
            return f"made {r['made_from']}..{r['made_to']}"
        return f"firmware {r['firmware']}"

    ctx.out(rows, lambda: "\n".join(f"#{r['id']:<4} {r['model']:<10} {scope(r):<40} {r['action']}" for r in rows))
    return 0


# ---------------------------------------------------------------- shipping and figures

def cmd_ship(ctx: Context) -> int:
    from rma.intake import labelling, services

    a = ctx.args
    db = ctx.database()
    with db.uow() as uow:
        actor = _actor(ctx, uow)
        result = services.ship_unit(uow, actor, a.key, courier=a.courier, waybill=a.waybill, cost=a.cost,
                                    customer_code=a.customer)
        data = result.as_dict()
        job_id = labelling.queue_parcel_label(uow, actor, result.parcel).id if result.created else None
    if job_id is not None and not a.no_print:
        data["label"] = labelling.print_job(db, job_id)
    ctx.out(data, f"{data['serial']} shipped to {data['customer']} by {data['courier']} {data['waybill']}"
            + (f"; visit {data['tag']} {data['state']}" if data["tag"] else "")
            + ("" if data["created"] else " (already in this parcel)")
            + (f"; {labelling.outcome_text(data['label'])}" if data.get("label") else ""))
    return 0


def cmd_courier_costs(ctx: Context) -> int:
    from rma.intake import services

    with ctx.database().uow(readonly=True) as uow:
        report = services.courier_costs(uow, ctx.args.month)
    if ctx.args.csv:
        sys.stdout.write(terminal_safe(csv_text(report["parcels"],
                                                ["date", "courier", "waybill", "direction", "customer", "cost"])))
        return 0
    ctx.out(report, lambda: "\n".join(
        [f"courier costs {report['month']}: total {report['total']}"]
        + [f"  {r['courier']:<8} {r['direction']:<4} {r['parcels']:>4} parcels  {r['cost']:>10}"
           + (f"  ({r['without_cost']} without a cost)" if r["without_cost"] else "") for r in report["by_courier"]]))
    return 0


def cmd_visits(ctx: Context) -> int:
    from rma.core.states import parse_state
    from rma.intake import services
    from rma.intake.models import Warranty

    a = ctx.args
    if a.warranty and a.warranty not in {w.value for w in Warranty}:
        raise DomainError("bad_warranty", "warranty is one of: in, out, unknown")
    f = services.VisitFilter(
        date_from=parse_day(a.date_from), date_to=parse_day(a.date_to), customer=a.customer, model=a.model,
        state=parse_state(a.state) if a.state else None, warranty=Warranty(a.warranty) if a.warranty else None,
        repeat=True if a.repeat else None, intercepted=True if a.intercepted else None, limit=a.limit)
    if a.csv:  # streamed: a million visits never sit in memory
        with ctx.database().uow(readonly=True) as uow:
            for line in csv_lines(services.iter_visits(uow, f), services.VISIT_COLUMNS, lineterminator="\n"):
                sys.stdout.write(terminal_safe(line))
        return 0
    with ctx.database().uow(readonly=True) as uow:
        rows = services.list_visits(uow, f)
    ctx.out(rows, lambda: "\n".join(
        f"{r['tag']}  {r['serial']:<16} {r['model']:<9} {r['customer'] or '-':<9} {r['state']:<20} "
        f"{r['opened_at'][:10]}  warranty {r['warranty'] or '-':<7}"
        + (f" REPEAT of {r['repeat_of']}" if r["repeat_of"] else "")
        + (f" INTERCEPTED×{r['interceptions']}" if r["interceptions"] else "") for r in rows) or "no visits")
    return 0


def cmd_units_import(ctx: Context) -> int:
    from rma.intake.imports import MAX_IMPORT_BYTES, import_units

    path = Path(ctx.args.file)
    data = _read_file(path, MAX_IMPORT_BYTES)
    report = import_units(ctx.database(), ctx.actor_name(), data,
                          progress=None if ctx.json else progress_bar())
    ctx.out(report.as_dict(), lambda: "\n".join(
        [f"{report.rows} rows: {report.created} created, {report.updated} updated, {len(report.rejected)} rejected"]
        + [f"  line {line}: {reason}" for line, reason in report.rejected[:200]]
        + ([f"  … and {len(report.rejected) - 200} more (use --json for all)"] if len(report.rejected) > 200 else [])))
    return 1 if report.rejected and ctx.args.strict else 0


# ---------------------------------------------------------------- labels

def cmd_label_unit(ctx: Context) -> int:
    from rma.intake import labelling

    with ctx.database().uow(readonly=True) as uow:
        if ctx.args.sheet:
            if ctx.args.format != "pdf":
                raise DomainError("sheet_is_pdf", "an A4 sheet of labels is a PDF: add --format pdf")
            data = labelling.render_unit_sheet(uow, ctx.args.tag, dpi=ctx.args.dpi)
        elif len(ctx.args.tag) > 1:
            raise DomainError("one_label", "several tags make an A4 sheet: add --sheet a4 --format pdf")
        else:
            data = labelling.render_unit_label(uow, ctx.args.tag[0], dpi=ctx.args.dpi, fmt=ctx.args.format)
    out = Path(ctx.args.out)
    try:
        out.write_bytes(data)
    except (OSError, ValueError) as exc:  # a missing folder, a folder, a read-only place, a NUL in the path
        raise DomainError("unwritable_file", "cannot write {path}: {reason}", path=str(out)[:200],
                          reason=getattr(exc, "strerror", None) or str(exc)) from None
    ctx.out({"file": ctx.args.out, "bytes": len(data), "format": ctx.args.format, "dpi": ctx.args.dpi},
            f"wrote {ctx.args.out} ({len(data)} bytes)")
    return 0


def cmd_label_print(ctx: Context) -> int:
    from rma.intake import labelling

    db = ctx.database()
    with db.uow() as uow:
        job_id = labelling.reprint_unit_label(uow, _actor(ctx, uow), ctx.args.tag).id
    result = labelling.print_job(db, job_id)
    ctx.out(result, f"{ctx.args.tag}: {labelling.outcome_text(result)}")
    return 0 if result["status"] == "printed" else 1


def cmd_label_queue(ctx: Context) -> int:
    from rma.intake import labelling

    db = ctx.database()
    if ctx.args.retry:
        results = labelling.retry_pending(db, ctx.actor_name())
        ctx.out(results, lambda: "\n".join(f"job {r['job']}: {labelling.outcome_text(r)}" for r in results)
                or "nothing waiting")
        return 0 if all(r["status"] == "printed" for r in results) else 1
    with db.uow(readonly=True) as uow:
        rows = labelling.pending_jobs(uow)
    ctx.out(rows, lambda: "\n".join(f"job {r['job']:<5} {r['template']:<9} {r['subject']:<14} {r['status']:<7} "
                                    f"tries {r['attempts']}  {r['error'] or ''}" for r in rows) or "nothing waiting")
    return 0


def register(sub) -> None:  # noqa: ANN001
    intake = sub.add_parser("intake", help="receive units").add_subparsers(dest="intake_command", required=True)
    r = cmd(intake, "receive", cmd_intake_receive, "receive units of a courier parcel (clerk)")
    r.add_argument("--waybill", required=True)
    r.add_argument("--courier", required=True)
    r.add_argument("--customer", required=True, help="the sender's customer code")
    r.add_argument("--serial", action="append", required=True)
    r.add_argument("--reason", help="a reason code")
    r.add_argument("--reason-text")
    r.add_argument("--declared", type=int, help="units the sender declared")
    r.add_argument("--cost", help="courier cost of the parcel")
    r.add_argument("--model", help="the model, when the serial pattern does not tell it")
    r.add_argument("--accessory", action="append", default=[], help="an accessory that came with the unit")
    r.add_argument("--no-print", action="store_true", help="queue the labels without printing")

    # `rma visit` belongs to the core command; the return reason is intake's word on a visit.
    visit = next(a for a in sub.choices["visit"]._actions if isinstance(a, argparse._SubParsersAction))
    vr = cmd(visit, "reason", cmd_visit_reason, "record or correct the return reason of an open visit "
             "(clerk, lead, supervisor)")
    vr.add_argument("tag")
    vr.add_argument("--reason", metavar="CODE", help="a return reason code (rma reason list)")
    vr.add_argument("--text", help="the dealer's complaint in their words")

    parcel = sub.add_parser("parcel", help="courier parcels").add_subparsers(dest="parcel_command", required=True)
    for name, fn, text in (("show", cmd_parcel_show, "a parcel and its units"),
                           ("close", cmd_parcel_close, "close an inbound parcel: declared against scanned (clerk)")):
        p = cmd(parcel, name, fn, text)
        p.add_argument("waybill")
        p.add_argument("--courier")
    p = cmd(parcel, "attach", cmd_parcel_attach, "attach a photo or scan of the waybill (clerk)")
    p.add_argument("waybill")
    p.add_argument("file")
    p.add_argument("--courier")

    model = sub.add_parser("model", help="product models").add_subparsers(dest="model_command", required=True)
    m = cmd(model, "add", cmd_model_add, "add a product model (admin, supervisor)")
    m.add_argument("code")
    m.add_argument("--name", required=True)
    m.add_argument("--serial-pattern", required=True, help="a regular expression matching the whole serial")
    m.add_argument("--warranty-months", type=int, required=True)
    m.add_argument("--family", default="head_unit")
    m.add_argument("--firmware")
    m.add_argument("--accessory", action="append", default=[])
    cmd(model, "list", cmd_model_list, "product models")

    customer = sub.add_parser("customer", help="dealers and distributors").add_subparsers(dest="customer_command", required=True)
    c = cmd(customer, "add", cmd_customer_add, "add a customer (admin, supervisor, clerk)")
    c.add_argument("code")
    c.add_argument("--name", required=True)
    c.add_argument("--region")
    c.add_argument("--contact")
    cmd(customer, "list", cmd_customer_list, "customers")

    reason = sub.add_parser("reason", help="return reason codes").add_subparsers(dest="reason_command", required=True)
    rr = cmd(reason, "add", cmd_reason_add, "add a return reason code (supervisor, lead, admin)")
    rr.add_argument("code")
    rr.add_argument("--text", required=True)
    cmd(reason, "list", cmd_reason_list, "return reason codes")

    intercept = sub.add_parser("intercept", help="interception plans").add_subparsers(dest="intercept_command", required=True)
    i = cmd(intercept, "add", cmd_intercept_add, "add an interception plan (supervisor, lead)")
    i.add_argument("--model", required=True)
    i.add_argument("--serial-from")
    i.add_argument("--serial-to")
    i.add_argument("--made-from", help="YYYY-MM-DD")
    i.add_argument("--made-to", help="YYYY-MM-DD")
    i.add_argument("--firmware")
    i.add_argument("--action", required=True, help="what must be done with such a unit")
    cmd(intercept, "list", cmd_intercept_list, "active interception plans")

    s = cmd(sub, "ship", cmd_ship, "ship a unit out: back to its sender, or to a dealer (clerk)")
    s.add_argument("key", metavar="TAG", help="a tag or a serial")
    s.add_argument("--courier", required=True)
    s.add_argument("--waybill", required=True)
    s.add_argument("--cost")
    s.add_argument("--customer", help="default: the customer the unit came from")
    s.add_argument("--no-print", action="store_true")

    courier = sub.add_parser("courier", help="courier figures").add_subparsers(dest="courier_command", required=True)
    cc = cmd(courier, "costs", cmd_courier_costs, "courier costs of a month, inbound and outbound")
    cc.add_argument("--month", required=True, help="YYYY-MM")
    cc.add_argument("--csv", action="store_true", help="every parcel as CSV")

    v = cmd(sub, "visits", cmd_visits, "the returns ledger: visits with filters")
    v.add_argument("--from", dest="date_from", help="received on or after YYYY-MM-DD")
    v.add_argument("--to", dest="date_to", help="received on or before YYYY-MM-DD")
    v.add_argument("--customer")
    v.add_argument("--model")
    v.add_argument("--state")
    v.add_argument("--warranty", help="in, out or unknown")
    v.add_argument("--repeat", action="store_true", help="repeat returns only")
    v.add_argument("--intercepted", action="store_true", help="visits with an interception alert only")
    v.add_argument("--limit", type=int)
    v.add_argument("--csv", action="store_true")

    units = sub.add_parser("units", help="units").add_subparsers(dest="units_command", required=True)
    ui = cmd(units, "import", cmd_units_import, "import the factory's shipment records (admin, supervisor)")
    ui.add_argument("file")
    ui.add_argument("--strict", action="store_true", help="exit 1 when any row was rejected")

    label = sub.add_parser("label", help="labels").add_subparsers(dest="label_command", required=True)
    lu = cmd(label, "unit", cmd_label_unit, "render a unit's tag label to a file (several tags: an A4 sheet)")
    lu.add_argument("tag", nargs="+")
    lu.add_argument("--sheet", choices=["a4"], help="all the labels on A4 pages (PDF)")
    lu.add_argument("--out", required=True)
    lu.add_argument("--dpi", type=int, choices=[203, 300], default=203)
    lu.add_argument("--format", choices=["png", "pdf", "zpl"], default="png")
    cmd(label, "print", cmd_label_print, "(re)print a unit's tag label on this station's printer").add_argument("tag")
    lq = cmd(label, "queue", cmd_label_queue, "labels waiting for a printer")
    lq.add_argument("--retry", action="store_true", help="try to print them again")
