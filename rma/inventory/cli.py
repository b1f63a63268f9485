"""Stores commands: ``rma part …`` (the catalogue) and ``rma stock …`` (moves, counts, figures)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rma.clikit import Context, terminal_safe
from rma.clikit import add_command as cmd
from rma.errors import DomainError
from rma.exports import csv_text


def _actor(ctx: Context, uow):  # noqa: ANN001, ANN202
    from rma.core.services import get_actor

    return get_actor(uow, ctx.actor_name())


def _change(ctx: Context, work: Callable[[Any, Any], dict[str, Any]], text: Callable[[dict[str, Any]], str]) -> int:
    with ctx.database().uow() as uow:
        data = work(uow, _actor(ctx, uow))
    ctx.out(data, lambda: text(data))
    return 0


def _read(ctx: Context, work: Callable[[Any], Any], text: Callable[[Any], str]) -> Any:
    with ctx.database().uow(readonly=True) as uow:
        data = work(uow)
    ctx.out(data, lambda: text(data))
    return data


def _export(ctx: Context, rows: list[dict[str, Any]], columns: list[str], title: str) -> bool:
    """``--csv`` to standard output, ``--xlsx FILE`` to a file; True when one of them was asked for."""
    if getattr(ctx.args, "xlsx", None):
        from rma.exports import xlsx_bytes

        _write(Path(ctx.args.xlsx), xlsx_bytes([(title, columns, rows)]))
        ctx.out({"file": ctx.args.xlsx, "rows": len(rows)}, f"wrote {ctx.args.xlsx} ({len(rows)} rows)")
        return True
    if getattr(ctx.args, "csv", False):
        sys.stdout.write(terminal_safe(csv_text(rows, columns)))
        return True
    return False


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except (OSError, ValueError) as exc:
        raise DomainError("unwritable_file", "cannot write {path}: {reason}", path=str(path)[:200],
                          reason=getattr(exc, "strerror", None) or str(exc)) from None


def _lines(pairs: list[str]) -> list[tuple[str, ...]]:
    """``PART=QTY`` or ``PART=QTY@DESIGNATOR`` as given to ``--part``."""
    out = []
    for pair in pairs:
        part, sep, rest = pair.partition("=")
        if not sep:
            raise DomainError("bad_line", "a requested line is a part and a quantity")
        qty, at, designator = rest.partition("@")
        out.append((part, qty, designator) if at else (part, qty))
    return out


# ---------------------------------------------------------------- rma part

def cmd_part_add(ctx: Context) -> int:
    from rma.inventory import catalogue

    a = ctx.args
    return _change(ctx, lambda uow, actor: catalogue.part_dict(catalogue.add_part(
        uow, actor, part_number=a.part_number, name_zh=a.name_zh, name_en=a.name_en, category=a.category, uom=a.uom,
        abc=a.abc, spec=a.spec, safety_stock=a.safety_stock, reorder_qty=a.reorder_qty, unit_cost=a.cost,
        supplier_barcode=a.barcode, home_bin=a.bin)), lambda d: f"added part {d['part_number']} {d['name_zh']}")


def cmd_part_set(ctx: Context) -> int:
    from rma.inventory import catalogue

    a = ctx.args
    return _change(ctx, lambda uow, actor: catalogue.part_dict(catalogue.set_part(
        uow, actor, a.part_number, abc=a.abc, safety_stock=a.safety_stock, reorder_qty=a.reorder_qty,
        home_bin=a.bin)), lambda d: f"{d['part_number']}: class {d['abc']}, safety stock {d['safety_stock'] or '-'}, "
                                    f"reorder {d['reorder_qty'] or '-'}, home bin {d['home_bin'] or '-'}")


def cmd_part_list(ctx: Context) -> int:
    from rma.inventory import catalogue

    a = ctx.args
    _read(ctx, lambda uow: catalogue.list_parts(uow, search=a.search, category=a.category, abc=a.abc),
          lambda rows: "\n".join(f"{r['part_number']:<20} {r['abc']} {r['category']:<10} {r['uom']:<5} "
                                 f"{r['unit_cost']:>10}  {r['name_zh']} / {r['name_en']}" for r in rows) or "no parts")
    return 0


def cmd_part_show(ctx: Context) -> int:
    from rma.inventory import stock

    def text(r: dict[str, Any]) -> str:
        lines = [f"{r['part_number']}  {r['name_zh']} / {r['name_en']}  ({r['category']}, class {r['abc']}, {r['uom']})",
                 f"in store {r['store']['quantity']} {r['uom']}, value {r['store']['value']}, average cost "
                 f"{r['store']['unit_cost']}; open requests {r['requested_open']}"]
        lines += [f"  bin {b['bin']:<12} {b['quantity']}" for b in r["bins"]]
        lines += [f"  on the bench for {b['tag']}: {b['quantity']}" for b in r["on_bench"]]
        lines += [f"  used in {u['model']} at {u['designator']} × {u['quantity']}" for u in r["where_used"]]
        lines += ["moves:"] + [_move_line(m) for m in r["moves"]]
        return "\n".join(lines)

    _read(ctx, lambda uow: stock.part_report(uow, ctx.args.part_number), text)
    return 0


def _move_line(m: dict[str, Any]) -> str:
    whom = m["tag"] or m["job"] or ""
    return (f"  #{m['id']:<7} {m['at'][:16]} {m['kind']:<10} {m['quantity']:>9} {m['from']:>11} -> {m['to']:<11} "
            f"{whom:<12} {m['designator'] or ''} {m['actor']}" + (f" (corrects #{m['corrects']})" if m["corrects"] else ""))


def cmd_part_history(ctx: Context) -> int:
    from rma.inventory import stock
    from rma.inventory.services import move_dict  # noqa: F401  (the columns below are its keys)

    a = ctx.args
    with ctx.database().uow(readonly=True) as uow:
        rows = stock.part_moves(uow, a.part_number, limit=a.limit or 100)
    columns = ["id", "at", "month", "kind", "part_number", "quantity", "value", "from", "to", "tag", "job",
               "designator", "note", "actor", "corrects"]
    if not _export(ctx, rows, columns, "moves"):
        ctx.out(rows, lambda: "\n".join(_move_line(m) for m in rows) or "no moves")
    return 0


def cmd_part_bom(ctx: Context) -> int:
    from rma.inventory import catalogue

    _read(ctx, lambda uow: catalogue.bom_of_model(uow, ctx.args.model),
          lambda rows: "\n".join(f"{r['designator']:<8} {r['part_number']:<20} × {r['quantity']:<4} {r['name_zh']}"
                                 for r in rows) or "no bill of materials")
    return 0


def cmd_part_bom_add(ctx: Context) -> int:
    from rma.inventory import catalogue

    a = ctx.args
    return _change(ctx, lambda uow, actor: {"model": a.model, "designator": catalogue.add_bom_line(
        uow, actor, a.model, a.designator, a.part, a.qty).designator, "part_number": a.part.strip().upper()},
        lambda d: f"{d['model']} {d['designator']}: {d['part_number']}")


def cmd_part_programmed(ctx: Context) -> int:
    from rma.inventory import catalogue

    a = ctx.args
    return _change(ctx, lambda uow, actor: catalogue.add_programmed_part(
        uow, actor, blank_part_number=a.blank, firmware_sha256=a.sha256, firmware_version=a.firmware,
        part_number=a.part_number), lambda d: f"{d['part_number']}: {d['blank_part']} with firmware "
                                              f"{d['firmware_version']}" + ("" if d["created"] else " (known)"))


# ---------------------------------------------------------------- rma stock: setup

def cmd_bin_add(ctx: Context) -> int:
    from rma.inventory import catalogue

    return _change(ctx, lambda uow, actor: {"code": catalogue.add_bin(uow, actor, ctx.args.code, ctx.args.name).code},
                   lambda d: f"added bin {d['code']}")


def cmd_bin_list(ctx: Context) -> int:
    from rma.inventory import catalogue

    _read(ctx, catalogue.list_bins, lambda rows: "\n".join(
        f"{r['code']:<12} {r['kind']:<10} {r['parts']:>4} parts  {r['name'] or ''}" for r in rows) or "no bins")
    return 0


def cmd_bin_label(ctx: Context) -> int:
    from rma.inventory.labels import bin_label

    a = ctx.args
    with ctx.database().uow(readonly=True) as uow:
        data = bin_label(uow, a.code, a.part, dpi=a.dpi, fmt=a.format)
    _write(Path(a.out), data)
    ctx.out({"file": a.out, "bytes": len(data)}, f"wrote {a.out} ({len(data)} bytes)")
    return 0


def cmd_supplier_add(ctx: Context) -> int:
    from rma.inventory import catalogue

    return _change(ctx, lambda uow, actor: {"code": catalogue.add_supplier(uow, actor, ctx.args.code, ctx.args.name).code},
                   lambda d: f"added supplier {d['code']}")


def cmd_supplier_list(ctx: Context) -> int:
    from rma.inventory import catalogue

    _read(ctx, catalogue.list_suppliers, lambda rows: "\n".join(f"{r['code']:<12} {r['name']}" for r in rows)
          or "no suppliers")
    return 0


# ---------------------------------------------------------------- rma stock: moves

def cmd_receive(ctx: Context) -> int:
    from rma.inventory import stock

    a = ctx.args
    return _change(ctx, lambda uow, actor: stock.receive(
        uow, actor, supplier=a.supplier, delivery_note=a.note, line=a.line, part_number=a.part, bin_code=a.bin,
        quantity=a.qty, unit_cost=a.cost, month=a.month),
        lambda d: f"received {d['quantity']} × {d['part_number']} into {d['bin']} at {d['unit_cost']} "
                  f"(line {d['line']} of {d['supplier']} {d['delivery_note']}); average cost {d['average_cost']}")


def cmd_request(ctx: Context) -> int:
    from rma.inventory import services

    a = ctx.args
    with ctx.database().uow() as uow:
        rows = services.request_parts(uow, _actor(ctx, uow), a.tag, _lines(a.part), note=a.note)
    ctx.out(rows, lambda: "\n".join(f"{r['tag']}: asked {r['quantity']} × {r['part_number']} (line {r['id']})"
                                    for r in rows))
    return 0


def cmd_issue(ctx: Context) -> int:
    from rma.inventory import services

    a = ctx.args
    return _change(ctx, lambda uow, actor: services.issue_to_tag(
        uow, actor, tag=a.tag, part_number=a.part, bin_code=a.bin, quantity=a.qty),
        lambda d: f"issued {d['quantity']} × {d['part_number']} from {d['bin']} to {d['tag']} ({d['state']})"
                  + (f"; {d['backordered']} backordered" if d["backordered"] else ""))


def cmd_backorder(ctx: Context) -> int:
    from rma.inventory import services

    a = ctx.args
    return _change(ctx, lambda uow, actor: services.backorder(uow, actor, a.tag, a.part),
                   lambda d: f"{d['tag']}: {a.part} backordered ({d['state']})")


def cmd_cancel(ctx: Context) -> int:
    from rma.inventory import services

    a = ctx.args
    return _change(ctx, lambda uow, actor: services.cancel_request(uow, actor, a.tag, a.part),
                   lambda d: f"{d['tag']}: request for {a.part} cancelled ({d['state']})")


def cmd_fit(ctx: Context) -> int:
    from rma.inventory import services

    a = ctx.args
    return _change(ctx, lambda uow, actor: services.fit_part(uow, actor, a.tag, a.part, a.qty, a.designator,
                                                             note=a.note),
                   lambda d: f"{d['tag']}: fitted {d['quantity']} × {d['part_number']} at {d['designator']}")


def cmd_return(ctx: Context) -> int:
    from rma.inventory import services

    a = ctx.args
    return _change(ctx, lambda uow, actor: services.return_part(uow, actor, a.tag, a.part, a.qty, a.bin),
                   lambda d: f"{d['tag']}: returned {d['quantity']} × {d['part_number']} to {d['bin']}")


def cmd_old(ctx: Context) -> int:
    from rma.inventory import services

    a = ctx.args
    return _change(ctx, lambda uow, actor: services.remove_old_part(uow, actor, a.tag, a.part, a.qty,
                                                                    designator=a.designator, note=a.note),
                   lambda d: f"{d['tag']}: old part {d['quantity']} × {d['part_number']} kept for the claim")


def cmd_move(ctx: Context) -> int:
    from rma.inventory import stock

    a = ctx.args
    return _change(ctx, lambda uow, actor: stock.transfer(uow, actor, part_number=a.part, from_bin=a.from_bin,
                                                          to_bin=a.to_bin, quantity=a.qty, note=a.note),
                   lambda d: f"moved {d['quantity']} × {d['part_number']} from {d['from']} to {d['to']}")


def cmd_scrap(ctx: Context) -> int:
    from rma.inventory import stock

    a = ctx.args
    return _change(ctx, lambda uow, actor: stock.scrap(uow, actor, part_number=a.part, bin_code=a.bin, quantity=a.qty,
                                                       reason=a.reason),
                   lambda d: f"scrapped {d['quantity']} × {d['part_number']} from {d['bin']}")


def cmd_correct(ctx: Context) -> int:
    from rma.inventory import stock

    a = ctx.args
    return _change(ctx, lambda uow, actor: stock.correct_move(uow, actor, a.move, a.reason),
                   lambda d: f"move {d['corrects']} undone by move {d['move']} (booked in {d['month']})")


def cmd_refurbish(ctx: Context) -> int:
    from rma.inventory import services

    return _change(ctx, lambda uow, actor: services.refurbish_into_stock(uow, actor, ctx.args.tag),
                   lambda d: f"{d['tag']} ({d['serial']}) refurbished into {d['location']} as {d['part_number']}")


# ---------------------------------------------------------------- rma stock: reading

def cmd_tag(ctx: Context) -> int:
    from rma.inventory import services

    def text(r: dict[str, Any]) -> str:
        lines = [f"{r['tag']} ({r['state']}): parts fitted worth {r['fitted_value']}"]
        lines += [f"  {p['part_number']:<20} requested {p['requested']}, issued {p['issued']}, fitted {p['fitted']}"
                  f"{' at ' + ','.join(p['designators']) if p['designators'] else ''}, returned {p['returned']}, "
                  f"old {p['old']}, backordered {p['backordered']}, on the bench {p['on_bench']}" for p in r["parts"]]
        return "\n".join(lines)

    _read(ctx, lambda uow: services.tag_parts(uow, ctx.args.tag), text)
    return 0


def cmd_picklist(ctx: Context) -> int:
    from rma.inventory import stock

    _read(ctx, stock.pick_list, lambda rows: "\n".join(
        f"{r['requested_at'][:16]} {r['tag']} {r['remaining']:>6} × {r['part_number']:<20} "
        f"{'BACKORDER ' if r['backordered'] else ''}bins: {', '.join(b['bin'] + ' ' + b['quantity'] for b in r['bins']) or '-'}"
        for r in rows) or "nothing to pick")
    return 0


def cmd_on_hand(ctx: Context) -> int:
    from rma.inventory import stock

    a = ctx.args
    with ctx.database().uow(readonly=True) as uow:
        rows = stock.on_hand(uow, part_number=a.part, bin_code=a.bin)
    columns = ["part_number", "name_zh", "name_en", "category", "abc", "uom", "bin", "quantity", "unit_cost", "value"]
    if not _export(ctx, rows, columns, "on hand"):
        ctx.out(rows, lambda: "\n".join(f"{r['bin']:<12} {r['part_number']:<20} {r['quantity']:>9} {r['uom']:<5} "
                                        f"{r['value']:>10}  {r['name_zh']}" for r in rows) or "nothing on hand")
    return 0


def cmd_refurbished(ctx: Context) -> int:
    from rma.inventory import services

    _read(ctx, services.refurbished_on_hand, lambda rows: "\n".join(
        f"{g['model']:<10} {g['on_hand']:>3} units, value {g['value']}: "
        + ", ".join(u["serial"] for u in g["units"]) for g in rows) or "no refurbished units in stock")
    return 0


def cmd_job(ctx: Context) -> int:
    from rma.inventory import services

    _read(ctx, lambda uow: services.job_stock(uow, ctx.args.job), lambda r: "\n".join(
        [f"job {r['job']}"] + [f"  {p['part_number']:<20} issued {p['issued']}, good {p['good']}, failed {p['failed']}, "
                               f"returned {p['returned']}, in progress {p['in_progress']}" for p in r["parts"]]))
    return 0


def cmd_job_issue(ctx: Context) -> int:
    from rma.inventory import services

    a = ctx.args
    return _change(ctx, lambda uow, actor: services.issue_to_job(uow, actor, job=a.job, part_number=a.part,
                                                                 bin_code=a.bin, quantity=a.qty),
                   lambda d: f"issued {d['quantity']} × {d['part_number']} from {d['bin']} to job {d['job']}")


def cmd_job_result(ctx: Context) -> int:
    from rma.inventory import services

    a = ctx.args
    return _change(ctx, lambda uow, actor: services.book_job_result(
        uow, actor, job=a.job, blank_part_number=a.blank, programmed_part_number=a.programmed, good=a.good,
        failed=a.failed, bin_code=a.bin), lambda d: f"job {d['job']}: {d['good']} good into {d['bin']}, "
                                                    f"{d['failed']} failed to scrap")


def cmd_job_return(ctx: Context) -> int:
    from rma.inventory import services

    a = ctx.args
    return _change(ctx, lambda uow, actor: services.return_from_job(uow, actor, job=a.job, part_number=a.part,
                                                                    bin_code=a.bin, quantity=a.qty),
                   lambda d: f"returned {d['quantity']} × {d['part_number']} from job {d['job']} to {d['bin']}")


# ---------------------------------------------------------------- counts

def cmd_count_start(ctx: Context) -> int:
    from rma.inventory import counts

    return _change(ctx, lambda uow, actor: counts.start_count(uow, actor, ctx.args.scope), _sheet_text)


def _sheet_text(d: dict[str, Any]) -> str:
    return "\n".join([f"count {d['code']} ({d['scope']}, {d['state']}): {d['done']}/{d['total']} done"]
                     + [f"  {ln['bin']:<12} {ln['part_number']:<20} {ln['status']:<10} {ln['name_zh']}"
                        for ln in d["lines"]])


def cmd_count_show(ctx: Context) -> int:
    from rma.inventory import counts

    _read(ctx, lambda uow: counts.count_sheet(uow, ctx.args.code), _sheet_text)
    return 0


def cmd_count_report(ctx: Context) -> int:
    from rma.inventory import counts

    with ctx.database().uow(readonly=True) as uow:
        r = counts.count_report(uow, _actor(ctx, uow), ctx.args.code)
    columns = ["bin", "part_number", "name_zh", "uom", "status", "expected", "book", "counted", "recount", "variance",
               "variance_value", "reason"]
    if not _export(ctx, r["lines"], columns, "count"):
        ctx.out(r, lambda: "\n".join(
            [f"count {r['code']} ({r['state']}): {r['counted']}/{r['total']} counted, variance value "
             f"{r['variance_value']} ({r['variance_rate'] or '-'} %)"]
            + [f"  {ln['bin']:<12} {ln['part_number']:<20} {ln['status']:<10} expected {ln['expected']}, book "
               f"{ln['book'] or '-'}, counted {ln['counted'] or '-'}/{ln['recount'] or '-'}, variance "
               f"{ln['variance'] or '-'} ({ln['variance_value'] or '-'})" for ln in r["lines"]]))
    return 0


def cmd_count_list(ctx: Context) -> int:
    from rma.inventory import counts

    _read(ctx, counts.list_counts, lambda rows: "\n".join(
        f"{r['code']:<16} {r['scope']:<5} {r['state']:<7} {r['counted']:>4}/{r['lines']:<4} "
        f"{r['awaiting_approval']} awaiting approval" for r in rows) or "no counts")
    return 0


def cmd_count_enter(ctx: Context) -> int:
    from rma.inventory import counts

    a = ctx.args
    return _change(ctx, lambda uow, actor: counts.enter_count(uow, actor, a.code, a.bin, a.part, a.qty),
                   lambda d: f"{d['bin']} {d['part_number']}: {d['status']}")


def cmd_count_approve(ctx: Context) -> int:
    from rma.inventory import counts

    a = ctx.args
    fn = counts.reject_variance if a.reject else counts.approve_variance
    return _change(ctx, lambda uow, actor: fn(uow, actor, a.code, a.bin, a.part, a.reason),
                   lambda d: f"{d['bin']} {d['part_number']}: {d['status']} (variance {d['variance']})")


def cmd_count_close(ctx: Context) -> int:
    from rma.inventory import counts

    return _change(ctx, lambda uow, actor: counts.close_count(uow, actor, ctx.args.code),
                   lambda d: f"count {d['code']} closed: {d['counted']}/{d['total']} counted, variance value "
                             f"{d['variance_value']}")


def cmd_count_sheet(ctx: Context) -> int:
    from rma.inventory.labels import count_sheet_pdf

    with ctx.database().uow(readonly=True) as uow:
        data = count_sheet_pdf(uow, ctx.args.code)
    _write(Path(ctx.args.out), data)
    ctx.out({"file": ctx.args.out, "bytes": len(data)}, f"wrote {ctx.args.out} ({len(data)} bytes)")
    return 0


# ---------------------------------------------------------------- figures

def cmd_statement(ctx: Context) -> int:
    from rma.inventory import reports

    with ctx.database().uow(readonly=True) as uow:
        r = reports.statement(uow, ctx.args.month)
    if not _export(ctx, r["rows"], reports.STATEMENT_COLUMNS, f"statement {r['month']}"):
        t = r["totals"]
        ctx.out(r, lambda: "\n".join(
            [f"statement {r['month']} ({'closed' if r['closed'] else 'open'}): opening {t['opening_value']}, receipts "
             f"{t['receipts_value']}, issues {t['issues_value']}, returns {t['returns_value']}, adjustments "
             f"{t['adjust_value']}, scrapped {t['scrap_value']}, other {t['other_value']}, closing {t['closing_value']}; "
             f"fitted {t['fitted_value']}"]
            + [f"  {x['part_number']:<20} {x['opening_qty']:>8} +{x['receipts_qty']:>7} -{x['issues_qty']:>7} "
               f"+{x['returns_qty']:>6} {x['adjust_qty']:>6} -{x['scrap_qty']:>5} {x['other_qty']:>6} = "
               f"{x['closing_qty']:>8}  {x['closing_value']:>11}" for x in r["rows"]]))
    return 0


def cmd_close(ctx: Context) -> int:
    from rma.inventory import reports

    return _change(ctx, lambda uow, actor: reports.close_month(uow, actor, ctx.args.month),
                   lambda d: f"closed {d['month']}: {d['parts']} parts, closing value {d['closing_value']}")


def cmd_months(ctx: Context) -> int:
    from rma.inventory import reports

    _read(ctx, reports.months, lambda rows: "\n".join(
        f"{r['month']}  {'closed ' + r['closed_at'][:10] if r['closed'] else 'open'}  {r['closing_value'] or ''}"
        for r in rows) or "no moves yet")
    return 0


def cmd_reorder(ctx: Context) -> int:
    from rma.inventory import reports

    with ctx.database().uow(readonly=True) as uow:
        r = reports.reorder(uow)
    if not _export(ctx, r["rows"], reports.REORDER_COLUMNS, "reorder"):
        ctx.out(r, lambda: "\n".join(
            [f"reorder (safety stock {r['factor']} × monthly issue of {r['months'][0]}..{r['months'][1]})"]
            + [f"  {x['part_number']:<20} {x['abc']} on hand {x['on_hand']:>7}, open requests {x['requested_open']}, "
               f"safety {x['safety_stock']} ({x['safety_from']}): order {x['order']} ({x['order_value']})"
               for x in r["rows"]]))
    return 0


def cmd_slow(ctx: Context) -> int:
    from rma.inventory import reports

    with ctx.database().uow(readonly=True) as uow:
        r = reports.slow_stock(uow)
    if not _export(ctx, r["rows"], reports.SLOW_COLUMNS, "slow and dead"):
        ctx.out(r, lambda: "\n".join(
            [f"slow stock {r['value']['slow']}, dead stock {r['value']['dead']}"]
            + [f"  {x['status']:<5} {x['part_number']:<20} {x['on_hand']:>7} {x['value']:>10}  idle "
               f"{x['idle_months']} months" for x in r["rows"]]))
    return 0


def cmd_turns(ctx: Context) -> int:
    from rma.inventory import reports

    with ctx.database().uow(readonly=True) as uow:
        r = reports.stock_turns(uow, months=ctx.args.months)
    columns = ["category", "issues_value", "average_stock_value", "turns"]
    if not _export(ctx, r["rows"], columns, "stock turns"):
        ctx.out(r, lambda: "\n".join([f"stock turns {r['months'][0]}..{r['months'][1]}: {r['turns'] or '-'} a year"]
                                     + [f"  {x['category']:<12} {x['turns'] or '-':>6}  issued {x['issues_value']}, "
                                        f"average stock {x['average_stock_value']}" for x in r["rows"]]))
    return 0


def cmd_fill_rate(ctx: Context) -> int:
    from rma.inventory import reports

    _read(ctx, lambda uow: reports.fill_rate(uow, months=ctx.args.months), lambda r: "\n".join(
        [f"first-time fill rate: {r['rate'] or '-'} ({r['filled_first']}/{r['lines']} lines)"]
        + [f"  {x['month']} {x['rate'] or '-':>6} ({x['filled_first']}/{x['lines']})" for x in r["rows"]]))
    return 0


def cmd_parts_cost(ctx: Context) -> int:
    from rma.inventory import reports

    with ctx.database().uow(readonly=True) as uow:
        r = reports.parts_cost(uow, ctx.args.month)
    columns = ["model", "units", "with_parts", "parts_value", "per_unit"]
    if not _export(ctx, r["rows"], columns, "parts cost"):
        ctx.out(r, lambda: "\n".join(
            [f"parts cost per repaired unit {r['month']}: {r['per_unit'] or '-'} ({r['parts_value']} over {r['units']} "
             f"units)"] + [f"  {x['model']:<10} {x['per_unit'] or '-':>9} ({x['parts_value']} over {x['units']})"
                           for x in r["rows"]]))
    return 0


# ---------------------------------------------------------------- the parser

def _exports(p) -> None:  # noqa: ANN001
    p.add_argument("--csv", action="store_true", help="as CSV on standard output")
    p.add_argument("--xlsx", metavar="FILE", help="as an Excel workbook")


def register(sub) -> None:  # noqa: ANN001, PLR0915 - one command line, declared in one place
    part = sub.add_parser("part", help="the parts catalogue").add_subparsers(dest="part_command", required=True)
    p = cmd(part, "add", cmd_part_add, "add a part number (materials, supervisor, admin)")
    p.add_argument("part_number")
    p.add_argument("--name-zh")
    p.add_argument("--name-en")
    p.add_argument("--category", required=True, help="ic, passive, connector, display, pcba, harness, mechanical, "
                                                      "consumable")
    p.add_argument("--uom", default="each", help="each, set, roll, m, g, kg, ml")
    p.add_argument("--abc", default="C", help="A, B or C")
    p.add_argument("--spec")
    p.add_argument("--safety-stock", help="the part's own safety stock (default: from its issues)")
    p.add_argument("--reorder-qty")
    p.add_argument("--cost", help="unit cost before the first receipt, in yuan")
    p.add_argument("--barcode", help="the supplier's barcode, scanned as the part")
    p.add_argument("--bin", help="its home bin")
    p = cmd(part, "set", cmd_part_set, "change a part's class, safety stock, reorder quantity, home bin")
    p.add_argument("part_number")
    p.add_argument("--abc")
    p.add_argument("--safety-stock", help="empty: from its issues again")
    p.add_argument("--reorder-qty")
    p.add_argument("--bin")
    p = cmd(part, "list", cmd_part_list, "parts of the catalogue")
    p.add_argument("--search")
    p.add_argument("--category")
    p.add_argument("--abc")
    cmd(part, "show", cmd_part_show, "a part: bins, who holds it, where used, its latest moves").add_argument(
        "part_number")
    p = cmd(part, "history", cmd_part_history, "a part's moves, newest first")
    p.add_argument("part_number")
    p.add_argument("--limit", type=int)
    _exports(p)
    cmd(part, "bom", cmd_part_bom, "a model's bill of materials").add_argument("model")
    p = cmd(part, "bom-add", cmd_part_bom_add, "the part at a reference designator of a model")
    p.add_argument("model")
    p.add_argument("--designator", required=True)
    p.add_argument("--part", required=True)
    p.add_argument("--qty", default="1")
    p = cmd(part, "programmed", cmd_part_programmed, "the part number of a blank IC programmed with a firmware")
    p.add_argument("--blank", required=True)
    p.add_argument("--sha256", required=True)
    p.add_argument("--firmware", required=True, help="the firmware version")
    p.add_argument("--part-number")

    stock = sub.add_parser("stock", help="the stores: moves, counts, figures").add_subparsers(
        dest="stock_command", required=True)
    bins = stock.add_parser("bin", help="bins").add_subparsers(dest="bin_command", required=True)
    p = cmd(bins, "add", cmd_bin_add, "add a bin (materials, supervisor, admin)")
    p.add_argument("code")
    p.add_argument("--name")
    cmd(bins, "list", cmd_bin_list, "the store's bins")
    p = cmd(bins, "label", cmd_bin_label, "a bin label (bin, part barcode, description) to a file")
    p.add_argument("code")
    p.add_argument("--part", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--dpi", type=int, choices=[203, 300], default=203)
    p.add_argument("--format", choices=["png", "pdf", "zpl"], default="png")
    sup = stock.add_parser("supplier", help="suppliers").add_subparsers(dest="supplier_command", required=True)
    p = cmd(sup, "add", cmd_supplier_add, "add a supplier")
    p.add_argument("code")
    p.add_argument("--name", required=True)
    cmd(sup, "list", cmd_supplier_list, "suppliers")

    p = cmd(stock, "receive", cmd_receive, "book a delivery note line into a bin (materials)")
    p.add_argument("--supplier", required=True)
    p.add_argument("--note", required=True, help="the delivery note number")
    p.add_argument("--line", required=True, help="the line of the delivery note")
    p.add_argument("--part", required=True, help="part number or supplier barcode")
    p.add_argument("--bin", required=True)
    p.add_argument("--qty", required=True)
    p.add_argument("--cost", help="unit cost in yuan (default: the part's average)")
    p.add_argument("--month", help="YYYY-MM: a late delivery booked into an earlier open month")
    p = cmd(stock, "request", cmd_request, "ask for parts for a tag (technician, lead)")
    p.add_argument("tag")
    p.add_argument("--part", action="append", required=True, metavar="PART=QTY[@DESIGNATOR]")
    p.add_argument("--note")
    p = cmd(stock, "issue", cmd_issue, "issue a part from a bin to a tag (materials)")
    p.add_argument("tag")
    p.add_argument("--part", required=True)
    p.add_argument("--bin", required=True)
    p.add_argument("--qty", help="default: what the tag still asks for (or what the bin holds, if less)")
    for name, fn, text in (("backorder", cmd_backorder, "none to issue: the tag's request waits (materials)"),
                           ("cancel", cmd_cancel, "cancel a tag's open request for a part")):
        p = cmd(stock, name, fn, text)
        p.add_argument("tag")
        p.add_argument("--part", required=True)
    p = cmd(stock, "fit", cmd_fit, "a part the tag holds fitted at a designator (technician, lead)")
    p.add_argument("tag")
    p.add_argument("--part", required=True)
    p.add_argument("--designator", required=True)
    p.add_argument("--qty", default="1")
    p.add_argument("--note")
    p = cmd(stock, "return", cmd_return, "unused parts of a tag back to a bin")
    p.add_argument("tag")
    p.add_argument("--part", required=True)
    p.add_argument("--bin", required=True)
    p.add_argument("--qty", required=True)
    p = cmd(stock, "old", cmd_old, "a faulty part out of a warranty repair, kept as an old part (旧件)")
    p.add_argument("tag")
    p.add_argument("--part", required=True)
    p.add_argument("--qty", default="1")
    p.add_argument("--designator")
    p.add_argument("--note")
    p = cmd(stock, "move", cmd_move, "move parts from one bin to another (materials)")
    p.add_argument("--part", required=True)
    p.add_argument("--from", dest="from_bin", required=True)
    p.add_argument("--to", dest="to_bin", required=True)
    p.add_argument("--qty", required=True)
    p.add_argument("--note")
    p = cmd(stock, "scrap", cmd_scrap, "scrap parts from a bin, with the reason (materials)")
    p.add_argument("--part", required=True)
    p.add_argument("--bin", required=True)
    p.add_argument("--qty", required=True)
    p.add_argument("--reason", required=True)
    p = cmd(stock, "correct", cmd_correct, "undo a move by its reversing move, booked in the open month")
    p.add_argument("move", help="the move's number")
    p.add_argument("--reason", required=True)
    cmd(stock, "refurbish", cmd_refurbish, "a passed unit refurbished into stock").add_argument("tag")
    cmd(stock, "refurbished", cmd_refurbished, "refurbished units in stock, by model")
    cmd(stock, "tag", cmd_tag, "a tag's parts: requested, issued, fitted, returned, old").add_argument("tag")
    cmd(stock, "picklist", cmd_picklist, "open requests, oldest first, with the bins that hold the part")
    p = cmd(stock, "on-hand", cmd_on_hand, "what each bin holds")
    p.add_argument("--part")
    p.add_argument("--bin")
    _exports(p)

    job = stock.add_parser("job", help="IC programming jobs").add_subparsers(dest="job_command", required=True)
    cmd(job, "show", cmd_job, "a job's parts: issued, good, failed, returned, in progress").add_argument("job")
    for name, fn, text in (("issue", cmd_job_issue, "blank ICs from a bin to a job (materials)"),
                           ("return", cmd_job_return, "parts of a job back to a bin")):
        p = cmd(job, name, fn, text)
        p.add_argument("job")
        p.add_argument("--part", required=True)
        p.add_argument("--bin", required=True)
        p.add_argument("--qty", required=True)
    p = cmd(job, "result", cmd_job_result, "a job's good devices into a bin as programmed parts, failed to scrap")
    p.add_argument("job")
    p.add_argument("--blank", required=True)
    p.add_argument("--programmed", required=True)
    p.add_argument("--good", required=True)
    p.add_argument("--failed", default="0")
    p.add_argument("--bin", required=True)

    count = stock.add_parser("count", help="stock counts (盘点)").add_subparsers(dest="count_command", required=True)
    cmd(count, "start", cmd_count_start, "start a count of an ABC class (the parts due) or a full count").add_argument(
        "scope", help="A, B, C or full")
    cmd(count, "list", cmd_count_list, "stock counts")
    cmd(count, "show", cmd_count_show, "a count's bins and parts, as the counter sees them").add_argument("code")
    p = cmd(count, "report", cmd_count_report, "the variance report (an open count: lead, supervisor)")
    p.add_argument("code")
    _exports(p)
    p = cmd(count, "enter", cmd_count_enter, "what is on the shelf (materials)")
    p.add_argument("code")
    p.add_argument("--bin", required=True)
    p.add_argument("--part", required=True)
    p.add_argument("--qty", required=True)
    p = cmd(count, "approve", cmd_count_approve, "approve a variance, or --reject it to a recount (lead, supervisor)")
    p.add_argument("code")
    p.add_argument("--bin", required=True)
    p.add_argument("--part", required=True)
    p.add_argument("--reason", required=True)
    p.add_argument("--reject", action="store_true")
    cmd(count, "close", cmd_count_close, "close a count").add_argument("code")
    p = cmd(count, "sheet", cmd_count_sheet, "the count sheet as a PDF (no expected quantities)")
    p.add_argument("code")
    p.add_argument("--out", required=True)

    p = cmd(stock, "statement", cmd_statement, "the monthly statement (进销存月报)")
    p.add_argument("--month", required=True, help="YYYY-MM")
    _exports(p)
    cmd(stock, "close", cmd_close, "close a month that has ended (materials, supervisor)").add_argument(
        "--month", required=True, help="YYYY-MM")
    cmd(stock, "months", cmd_months, "the stores' months, closed or open")
    p = cmd(stock, "reorder", cmd_reorder, "parts below their safety stock, and what to order")
    _exports(p)
    p = cmd(stock, "slow", cmd_slow, "slow (no issue for 6 months) and dead (12) stock")
    _exports(p)
    p = cmd(stock, "turns", cmd_turns, "stock turns per category")
    p.add_argument("--months", type=int, default=12)
    _exports(p)
    p = cmd(stock, "fill-rate", cmd_fill_rate, "first-time fill rate of requisition lines")
    p.add_argument("--months", type=int, default=3)
    p = cmd(stock, "parts-cost", cmd_parts_cost, "parts cost per repaired unit")
    p.add_argument("--month", required=True, help="YYYY-MM")
    _exports(p)
