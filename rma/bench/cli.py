"""Bench commands: the queue, taking and assigning work, the repair card, decisions, approvals, code lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rma.clikit import Context
from rma.clikit import add_command as cmd
from rma.errors import DomainError
from rma.exports import csv_text


def _actor(ctx: Context, uow):  # noqa: ANN001, ANN202
    from rma.core.services import get_actor

    return get_actor(uow, ctx.actor_name())


def _read(path: str, limit: int) -> bytes:
    """At most ``limit`` bytes of the file (a ``/dev/zero`` is refused, never read to the end)."""
    try:
        with Path(path).open("rb") as fh:
            data = fh.read(limit + 1)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise DomainError("unreadable_file", "cannot read {path}: {reason}", path=str(path)[:200],
                          reason=getattr(exc, "strerror", None) or str(exc)) from None
    if len(data) > limit:
        raise DomainError("file_too_big", "the file {name} is larger than {mb} MB", name=str(path)[:200],
                          mb=limit // 2**20)
    return data


def _act(ctx: Context, work) -> Any:  # noqa: ANN001
    """One unit of work as the acting user; ``work(uow, actor)`` returns plain data."""
    with ctx.database().uow() as uow:
        return work(uow, _actor(ctx, uow))


def _tag(uow, card) -> str:  # noqa: ANN001
    from rma.core.models import Visit

    return uow.session.get(Visit, card.visit_id).tag


def _read_only(ctx: Context, work) -> Any:  # noqa: ANN001
    with ctx.database().uow(readonly=True) as uow:
        return work(uow)


def _card_brief(ctx: Context, tag: str) -> dict[str, Any]:
    from rma.bench import views

    return _read_only(ctx, lambda uow: views.card_view(uow, tag))


def _finding_line(f: dict[str, Any]) -> str:
    if f["nff"]:
        return f"  #{f['id']} NO FAULT FOUND" + (f" — {f['note']}" if f["note"] else "")
    where = " ".join(x for x in (f["section"]["code"], f["designator"]) if x)
    return (f"  #{f['id']} {where}: {f['defect']['code']} {f['defect']['en']} -> {f['repair']['code']} "
            f"{f['repair']['en']}" + (f" — {f['note']}" if f["note"] else ""))


def _queue_text(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'TAG':<12} {'SERIAL':<16} {'MODEL':<9} {'STATE':<15} {'AGE':>4} {'WARRANTY':<8} {'TECHNICIAN':<12} FLAGS"]
    for r in rows:
        flags = ([f"REPEAT of {r['repeat_of']}"] if r["repeat_of"] else []) + (
            [f"HOLD: {r['open_alerts']} interception(s)"] if r["open_alerts"] else []) + (
            [f"REWORK x{r['rework']}"] if r["rework"] else []) + (
            [f"{r['pending_requests']} waiting for the lead"] if r["pending_requests"] else [])
        lines.append(f"{r['tag']:<12} {r['serial']:<16} {r['model']:<9} {r['state']:<15} {r['age_days']:>3}d "
                     f"{r['warranty'] or '-':<8} {r['technician'] or '-':<12} {'; '.join(flags)}")
    return "\n".join(lines) if rows else "nothing on the bench"


# ---------------------------------------------------------------- the queue and taking work

def cmd_queue(ctx: Context) -> int:
    from rma.bench import views

    a = ctx.args

    def work(uow):  # noqa: ANN001, ANN202
        mine = _actor(ctx, uow).id if a.mine else None
        return views.queue(uow, technician=a.technician, mine=mine, unassigned=a.unassigned, limit=a.limit)

    rows = _read_only(ctx, work)
    ctx.out(rows, lambda: _queue_text(rows))
    return 0


def _started(ctx: Context, tag: str, verb: str) -> int:
    card = _card_brief(ctx, tag)
    ctx.out(card, f"{card['tag']} {card['serial']} {card['model']['code']}: {verb} "
                  f"{card['technician_name'] or card['technician'] or 'nobody'} ({card['state']})")
    return 0


def cmd_start(ctx: Context) -> int:
    from rma.bench import services

    tag = _act(ctx, lambda uow, actor: _tag(uow, services.start_repair(uow, actor, ctx.args.tag)))
    return _started(ctx, tag, "on the bench of")


def cmd_take(ctx: Context) -> int:
    from rma.bench import services

    tag = _act(ctx, lambda uow, actor: _tag(uow, services.take_next(uow, actor)))
    return _started(ctx, tag, "taken by")


def cmd_assign(ctx: Context) -> int:
    from rma.bench import services

    a = ctx.args
    if not a.nobody and not a.to:
        raise DomainError("technician_required", "say who gets it: --to NAME, or --nobody")
    tag = _act(ctx, lambda uow, actor: _tag(uow, services.assign(uow, actor, a.tag, None if a.nobody else a.to)))
    return _started(ctx, tag, "assigned to")


# ---------------------------------------------------------------- the card

def _card_text(c: dict[str, Any]) -> str:
    complaint = c["complaint"]
    lines = [f"{c['tag']}  {c['serial']}  {c['model']['code']}  {c['state']}  {c['age_days']} days  "
             f"warranty {c['warranty'] or '-'}" + (f"  REPEAT of {c['repeat_of']}" if c["repeat_of"] else ""),
             f"technician: {c['technician'] or 'nobody'}   return reason: {c['return_reason'] or '-'}"]
    if c["rework"]["last_failure"]:
        last = c["rework"]["last_failure"]
        lines.append(f"REWORK x{c['rework']['count']}: run {last['run_id']} failed:")
        lines += [f"  {s['step']} {s['name']}: {s['value']} ({s['message'] or s['verdict']})" for s in last["failed_steps"]]
    if complaint["symptom"]:
        lines.append(f"complaint: {complaint['condition']['code']} {complaint['condition']['en']} / "
                     f"{complaint['symptom']['code']} {complaint['symptom']['en']}"
                     + (f" — {complaint['note']}" if complaint["note"] else ""))
    else:
        lines.append("complaint: not coded yet")
    lines += [f"alert {a['id']}: {a['action']} — {a['status']}" + (f" ({a['note']})" if a["note"] else "")
              for a in c["alerts"]]
    lines.append("findings:" if c["findings"] else "findings: none yet")
    lines += [_finding_line(f) for f in c["findings"]]
    lines += [f"suggestion {s['key']}: {s['section']['code']} {s['designator'] or ''} {s['defect']['code']} "
              f"{s['defect']['en']} -> {s['repair']['code']} {s['repair']['en']} ({s['count']}x)" for s in c["suggestions"]]
    lines += [f"request {r['id']}: {r['kind']} {r['status']} — {r['reason']}" for r in c["requests"]]
    lines.append(f"labour: {c['labour']['total_seconds'] // 60} min" + "".join(
        f"; {t['technician']} {t['seconds'] // 60} min{' (running)' if t['running'] else ''}"
        for t in c["labour"]["technicians"]))
    lines += [f"photo {p['purpose']}: {p['filename']} ({p['sha256'][:12]}…)" for p in c["photos"]]
    parts = c["parts"]
    lines.append("parts:" if parts["parts"] else "parts: none asked for")
    lines += [f"  {p['part_number']}: requested {p['requested']}, issued {p['issued']}, backordered "
              f"{p['backordered']}, fitted {p['fitted']}" + (f" at {', '.join(p['designators'])}" if p["designators"]
                                                            else "")
              + f", returned {p['returned']}, old {p['old']}, on the bench {p['on_bench']}" for p in parts["parts"]]
    for h in c["history"]:
        lines.append(f"earlier visit {h['tag']} ({h['state']}, {h['opened_at'][:10]}): "
                     + ("; ".join(_finding_line(f).strip() for f in h["findings"]) or "no findings")
                     + "".join(f"; fitted {p['quantity']} x {p['part_number']} at {p['designator'] or '-'}"
                               for p in h["parts"])
                     + "".join(f"; test {t['kind']} #{t['attempt']} {t['outcome']}" for t in h["tests"]))
    return "\n".join(lines)


def cmd_card(ctx: Context) -> int:
    card = _card_brief(ctx, ctx.args.tag)
    ctx.out(card, lambda: _card_text(card))
    return 0


def cmd_complaint(ctx: Context) -> int:
    from rma.bench import services

    a = ctx.args
    tag = _act(ctx, lambda uow, actor: _tag(uow, services.code_complaint(
        uow, actor, a.tag, condition=a.condition, symptom=a.symptom, note=a.note)))
    card = _card_brief(ctx, tag)
    ctx.out(card["complaint"], lambda: _card_text(card).splitlines()[2])
    return 0


def cmd_find(ctx: Context) -> int:
    from rma.bench import services

    a = ctx.args
    if a.withdraw is not None:
        found = _act(ctx, lambda uow, actor: services.withdraw_finding(uow, actor, a.tag, a.withdraw, reason=a.reason))
        ctx.out(found, f"withdrawn: {_finding_line(found).strip()}")
        return 0
    found = _act(ctx, lambda uow, actor: services.add_finding(
        uow, actor, a.tag, section=a.section, designator=a.designator, defect=a.defect, repair=a.repair, note=a.note,
        nff=a.nff))
    ctx.out(found, f"recorded: {_finding_line(found).strip()}")
    return 0


def _part_done(ctx: Context, work, text) -> int:  # noqa: ANN001
    done = _act(ctx, work)
    ctx.out(done, lambda: text(done))
    return 0


def cmd_part_request(ctx: Context) -> int:
    from rma.bench import parts
    from rma.inventory.cli import _lines

    a = ctx.args
    return _part_done(ctx, lambda uow, actor: parts.request(uow, actor, a.tag, _lines(a.part), note=a.note),
                      lambda rows: "\n".join(f"{r['tag']}: asked {r['quantity']} x {r['part_number']}"
                                             + (f" at {r['designator']}" if r["designator"] else "")
                                             + f" (line {r['id']})" for r in rows))


def cmd_part_fit(ctx: Context) -> int:
    from rma.bench import parts

    a = ctx.args

    def work(uow, actor):  # noqa: ANN001, ANN202
        done = parts.fit(uow, actor, a.tag, a.part, a.qty, a.designator, note=a.note)
        if a.old:
            done["old_part"] = parts.remove_old(uow, actor, a.tag, done["part_number"], a.qty, done["designator"],
                                                note=a.old_note)
        return done

    return _part_done(ctx, work, lambda d: f"{d['tag']}: fitted {d['quantity']} x {d['part_number']} at "
                      f"{d['designator']}" + ("; the faulty one kept as an old part" if d.get("old_part") else ""))


def cmd_part_old(ctx: Context) -> int:
    from rma.bench import parts

    a = ctx.args
    return _part_done(ctx, lambda uow, actor: parts.remove_old(uow, actor, a.tag, a.part, a.qty, a.designator,
                                                               note=a.note),
                      lambda d: f"{d['tag']}: old part {d['quantity']} x {d['part_number']} kept"
                                + (f" (from {d['designator']})" if d["designator"] else ""))


def cmd_part_return(ctx: Context) -> int:
    from rma.bench import parts

    a = ctx.args
    return _part_done(ctx, lambda uow, actor: parts.give_back(uow, actor, a.tag, a.part, a.qty, a.bin),
                      lambda d: f"{d['tag']}: returned {d['quantity']} x {d['part_number']} to {d['bin']}")


def cmd_part_cancel(ctx: Context) -> int:
    from rma.bench import parts

    a = ctx.args
    return _part_done(ctx, lambda uow, actor: parts.cancel(uow, actor, a.tag, a.part),
                      lambda d: f"{d['tag']}: request cancelled ({d['state']})")


def cmd_suggest(ctx: Context) -> int:
    from rma.bench import views

    rows = _read_only(ctx, lambda uow: views.suggest(uow, ctx.args.tag, limit=ctx.args.limit))
    ctx.out(rows, lambda: "\n".join(
        f"{s['key']}. {s['section']['code']} {s['designator'] or ''} {s['defect']['code']} {s['defect']['en']} -> "
        f"{s['repair']['code']} {s['repair']['en']}  ({s['count']} times)" for s in rows)
        or "no suggestion: nothing like it was repaired before")
    return 0


def cmd_photo(ctx: Context) -> int:
    from rma.bench import photos

    a = ctx.args
    data = _read(a.file, photos.MAX_PHOTO_BYTES)
    photo = _act(ctx, lambda uow, actor: photos.attach_photo(uow, actor, a.tag, filename=Path(a.file).name, data=data,
                                                             purpose=a.purpose))
    ctx.out(photo, f"photo {photo['filename']} kept ({photo['size']} bytes, sha256 {photo['sha256'][:12]}…)")
    return 0


def cmd_labour(ctx: Context) -> int:
    from rma.bench import labour

    a = ctx.args
    if a.action == "start":
        if a.technician:
            raise DomainError("own_labour_only", "labour is started by the technician who works")
        session = _act(ctx, lambda uow, actor: labour.start(uow, actor, a.tag))
    else:
        session = _act(ctx, lambda uow, actor: labour.end(uow, actor, a.tag, kind=a.action, technician=a.technician))
    ctx.out(session, f"labour of {session['technician']} on {a.tag}: "
                     + ("running" if session["ended_at"] is None else f"{a.action}ped after {session['seconds'] // 60} min"))
    return 0


def cmd_alert(ctx: Context) -> int:
    from rma.bench import services

    a = ctx.args
    waive = a.alert_action == "waive"
    note = a.reason if waive else a.note
    result = _act(ctx, lambda uow, actor: services.mark_alert(uow, actor, a.tag, a.alert_id, note=note, waive=waive))
    ctx.out(result, f"alert {result['id']} of {a.tag}: {result['status']}")
    return 0


def cmd_damage(ctx: Context) -> int:
    from rma.bench import photos, services

    a = ctx.args
    files = [(Path(p).name, _read(p, photos.MAX_PHOTO_BYTES)) for p in a.photo]

    def work(uow, actor):  # noqa: ANN001, ANN202
        for name, data in files:
            photos.attach_photo(uow, actor, a.tag, filename=name, data=data, purpose="damage")
        return services.report_damage(uow, actor, a.tag, damage=a.kind, reason=a.reason)

    request = _act(ctx, work)
    ctx.out(request, f"human damage on {request['tag']} reported (request {request['id']}): waits for the lead")
    return 0


def cmd_decide(ctx: Context) -> int:
    from rma.bench import services

    a = ctx.args
    result = _act(ctx, lambda uow, actor: services.decide(uow, actor, a.tag, a.decision, reason=a.reason))
    ctx.out(result, f"{result['tag']}: " + (f"{result['decision']} proposed (request {result['request']}), waits for "
                                            "the lead" if result["pending"] else f"now {result['state']}"))
    return 0


# ---------------------------------------------------------------- the lead

def cmd_approvals(ctx: Context) -> int:
    from rma.bench import services

    rows = _read_only(ctx, lambda uow: services.list_requests(uow, pending_only=not ctx.args.all))
    ctx.out(rows, lambda: "\n".join(
        f"{r['id']:>5} {r['tag']:<12} {r['kind']:<7} {r['status']:<9} {r['requested_by']:<12} {r['requested_at'][:16]} "
        f"{(r['alert'] or {}).get('action') or r['damage'] or ''} — {r['reason']}" for r in rows) or "nothing waits")
    return 0


def _decide_request(ctx: Context, approve: bool) -> int:
    from rma.bench import services

    a = ctx.args
    result = _act(ctx, lambda uow, actor: services.decide_request(uow, actor, a.request_id, approve=approve,
                                                                  note=a.note))
    ctx.out(result, f"request {result['id']} ({result['kind']} on {result['tag']}): {result['status']}")
    return 0


def cmd_approve(ctx: Context) -> int:
    return _decide_request(ctx, True)


def cmd_reject(ctx: Context) -> int:
    return _decide_request(ctx, False)


def cmd_lead(ctx: Context) -> int:
    from rma.bench import views

    view = _read_only(ctx, views.lead_view)

    def text() -> str:
        lines = ["work in progress:"]
        lines += [f"  {r['technician'] or '(nobody)':<12} {r['state']:<15} {r['count']:>4}  oldest {r['oldest_days']} d  "
                  f"0-2 d: {r['age']['0-2']}  3-7 d: {r['age']['3-7']}  8+ d: {r['age']['8+']}" for r in view["wip"]]
        lines.append(f"waiting for approval: {len(view['approvals'])}")
        lines += [f"  {r['id']:>5} {r['tag']} {r['kind']} — {r['reason']}" for r in view["approvals"]]
        lines.append(f"output: today {view['totals']['today']}, this week {view['totals']['week']}")
        lines += [f"  {r['technician'] or '-':<12} today {r['today']:>3}  week {r['week']:>3}" for r in view["output"]]
        return "\n".join(lines)

    ctx.out(view, text)
    return 0


# ---------------------------------------------------------------- code lists

def cmd_codes_list(ctx: Context) -> int:
    from rma.bench import codes

    a = ctx.args
    rows = _read_only(ctx, lambda uow: codes.list_codes(uow, codes.parse_kind(a.kind) if a.kind else None,
                                                        include_inactive=a.all))
    if a.csv and not ctx.json:
        print(csv_text([{**r, "sections": " ".join(r["sections"])} for r in rows], codes.CSV_COLUMNS), end="")
        return 0
    ctx.out(rows, lambda: "\n".join(
        f"{r['kind']:<9} {r['code']:<6} {r['parent'] or '':<5} {r['en']} / {r['zh']}"
        + (f"  [sections: {' '.join(r['sections'])}]" if r["sections"] else "") + ("  (needs a note)" if r["needs_note"]
                                                                                 else "")
        + ("" if r["active"] else "  (inactive)") for r in rows))
    return 0


def cmd_codes_add(ctx: Context) -> int:
    from rma.bench import codes

    a = ctx.args
    row = _act(ctx, lambda uow, actor: codes.add_code(uow, actor, a.kind, a.code, en=a.en, zh=a.zh, parent=a.parent,
                                                      sections=a.section, needs_note=a.needs_note))
    ctx.out(row, f"added {row['kind']} code {row['code']}: {row['en']} / {row['zh']}")
    return 0


def _yes_no(value: str | None) -> bool | None:
    if value is None:
        return None
    from rma.bench.codes import NO, YES

    v = value.strip().lower()
    if v in YES:
        return True
    if v and v in NO:
        return False
    raise DomainError("bad_yes_no", "{value!r} is not yes or no", value=value[:20])


def cmd_codes_set(ctx: Context) -> int:
    from rma.bench import codes

    a = ctx.args
    changes = {"en": a.en, "zh": a.zh, "parent": a.parent,
               "sections": a.sections.split() if a.sections is not None else None,
               "needs_note": _yes_no(a.needs_note), "active": _yes_no(a.active)}
    row = _act(ctx, lambda uow, actor: codes.change_code(uow, actor, a.kind, a.code, **changes))
    ctx.out(row, f"{row['kind']} code {row['code']}: {row['en']} / {row['zh']}" + ("" if row["active"] else " (inactive)"))
    return 0


def cmd_codes_import(ctx: Context) -> int:
    from rma.bench import codes

    data = _read(ctx.args.file, codes.MAX_IMPORT_BYTES)
    report = _act(ctx, lambda uow, actor: codes.import_codes(uow, actor, data).as_dict())
    ctx.out(report, lambda: "\n".join(
        [f"{report['rows']} rows: {report['created']} created, {report['updated']} updated, "
         f"{report['unchanged']} unchanged, {len(report['rejected'])} rejected"]
        + [f"  line {r['line']}: {r['reason']}" for r in report["rejected"]]))
    return 1 if report["rejected"] else 0


# ---------------------------------------------------------------- parser

def register(sub) -> None:  # noqa: ANN001
    bench = sub.add_parser("bench", help="the repair bench").add_subparsers(dest="bench_command", required=True)
    q = cmd(bench, "queue", cmd_queue, "units awaiting the bench and in repair, oldest first")
    q.add_argument("--mine", action="store_true", help="my bench: the cards I have (--as NAME)")
    q.add_argument("--technician", help="the cards of one technician")
    q.add_argument("--unassigned", action="store_true", help="only units nobody has")
    q.add_argument("--limit", type=int)
    cmd(bench, "start", cmd_start, "take a unit and start its repair (a scan at the bench does this)").add_argument("tag")
    cmd(bench, "take", cmd_take, "take the oldest unit nobody has, and start it")
    asg = cmd(bench, "assign", cmd_assign, "give a unit on the bench to a technician (lead)")
    asg.add_argument("tag")
    asg.add_argument("--to", metavar="NAME")
    asg.add_argument("--nobody", action="store_true", help="back to the queue")
    cmd(bench, "card", cmd_card, "a repair card: complaint, findings, parts, alerts, labour, history").add_argument("tag")
    cp = cmd(bench, "complaint", cmd_complaint, "code the customer's complaint: condition and symptom")
    cp.add_argument("tag")
    cp.add_argument("--condition", required=True, metavar="CODE")
    cp.add_argument("--symptom", required=True, metavar="CODE")
    cp.add_argument("--note")
    fd = cmd(bench, "find", cmd_find, "record a finding (or no fault found, or withdraw one)")
    fd.add_argument("tag")
    fd.add_argument("--section", metavar="CODE")
    fd.add_argument("--designator", metavar="REF", help="the reference designator, e.g. U12, C45, CN2")
    fd.add_argument("--defect", metavar="CODE")
    fd.add_argument("--repair", metavar="CODE")
    fd.add_argument("--note")
    fd.add_argument("--nff", action="store_true", help="no fault found (the outgoing test must then pass)")
    fd.add_argument("--withdraw", type=int, metavar="FINDING", help="withdraw this finding (with --reason)")
    fd.add_argument("--reason", help="why the finding is withdrawn")
    sg = cmd(bench, "suggest", cmd_suggest, "what fixed this model's symptom most often before")
    sg.add_argument("tag")
    sg.add_argument("--limit", type=int, default=5)
    part = bench.add_parser("part", help="parts for the card's unit, through the stores").add_subparsers(
        dest="part_command", required=True)
    pr = cmd(part, "request", cmd_part_request, "ask the stores for parts (a part number, barcode or BOM designator)")
    pr.add_argument("tag")
    pr.add_argument("--part", action="append", required=True, metavar="PART=QTY[@DESIGNATOR]",
                    help="PART: a part number, a supplier's barcode or a designator of the model's BOM")
    pr.add_argument("--note")
    pf = cmd(part, "fit", cmd_part_fit, "a part the tag holds fitted at a designator a finding names")
    pf.add_argument("tag")
    pf.add_argument("--part", required=True)
    pf.add_argument("--designator", help="default: the BOM's designator when --part names one")
    pf.add_argument("--qty", default="1")
    pf.add_argument("--note")
    pf.add_argument("--old", action="store_true", help="and keep the faulty part taken out as an old part (旧件)")
    pf.add_argument("--old-note", help="the old part's note")
    po = cmd(part, "old", cmd_part_old, "a faulty part taken out, kept as an old part (旧件) with the tag")
    po.add_argument("tag")
    po.add_argument("--part", required=True)
    po.add_argument("--designator")
    po.add_argument("--qty", default="1")
    po.add_argument("--note")
    pt = cmd(part, "return", cmd_part_return, "unused parts the tag holds back to a bin")
    pt.add_argument("tag")
    pt.add_argument("--part", required=True)
    pt.add_argument("--bin", required=True)
    pt.add_argument("--qty", required=True)
    pc = cmd(part, "cancel", cmd_part_cancel, "cancel the card's open request for a part")
    pc.add_argument("tag")
    pc.add_argument("--part", required=True)
    ph = cmd(bench, "photo", cmd_photo, "keep a photo of the unit (JPEG, PNG, WebP; at most 20 MB)")
    ph.add_argument("tag")
    ph.add_argument("file")
    ph.add_argument("--purpose", choices=["unit", "damage", "finding"], default="unit")
    lb = cmd(bench, "labour", cmd_labour, "start, pause or stop your labour on a unit")
    lb.add_argument("action", choices=["start", "pause", "stop"])
    lb.add_argument("tag")
    lb.add_argument("--technician", metavar="NAME", help="the lead stops another technician's labour")
    al = cmd(bench, "alert", cmd_alert, "an interception alert: done (what was done) or waive (why)")
    al.add_argument("alert_action", choices=["done", "waive"])
    al.add_argument("tag")
    al.add_argument("alert_id", type=int)
    al.add_argument("--note", help="what was done (done)")
    al.add_argument("--reason", help="why it may be waived (waive; a technician's goes to the lead)")
    dm = cmd(bench, "damage", cmd_damage, "report human damage (人为损坏) with photos; the lead confirms")
    dm.add_argument("tag")
    dm.add_argument("--kind", required=True, choices=["water", "impact", "seal", "other"])
    dm.add_argument("--reason", required=True)
    dm.add_argument("--photo", action="append", default=[], metavar="FILE")
    dc = cmd(bench, "decide", cmd_decide, "the unit leaves the bench: test, programming, scrap (lead approves), return")
    dc.add_argument("tag")
    dc.add_argument("decision", choices=["test", "programming", "scrap", "return"])
    dc.add_argument("--reason", help="why (scrap and return need it)")
    ap = cmd(bench, "approvals", cmd_approvals, "human damage, scrap and waivers waiting for the lead")
    ap.add_argument("--all", action="store_true", help="decided ones too")
    for name, fn, text in (("approve", cmd_approve, "approve a request (lead, supervisor)"),
                           ("reject", cmd_reject, "reject a request, saying why (lead, supervisor)")):
        p = cmd(bench, name, fn, text)
        p.add_argument("request_id", type=int)
        p.add_argument("--note")
    cmd(bench, "lead", cmd_lead, "the lead's view: work in progress and its age, approvals, output")

    codes = bench.add_parser("codes", help="the bench's code lists").add_subparsers(dest="codes_command", required=True)
    cl = cmd(codes, "list", cmd_codes_list, "condition, symptom, section, defect and repair codes")
    cl.add_argument("--kind", help="condition, symptom, section, defect or repair")
    cl.add_argument("--all", action="store_true", help="inactive codes too")
    cl.add_argument("--csv", action="store_true", help="as CSV (the import's columns)")
    ca = cmd(codes, "add", cmd_codes_add, "add a code (lead, supervisor)")
    ca.add_argument("kind")
    ca.add_argument("code")
    ca.add_argument("--en", required=True)
    ca.add_argument("--zh", required=True)
    ca.add_argument("--parent", help="a symptom's group")
    ca.add_argument("--section", action="append", default=[], metavar="CODE", help="a defect's section (repeat)")
    ca.add_argument("--needs-note", action="store_true", help="a finding with it needs a note (\"other\")")
    cs = cmd(codes, "set", cmd_codes_set, "change a code (lead, supervisor)")
    cs.add_argument("kind")
    cs.add_argument("code")
    cs.add_argument("--en")
    cs.add_argument("--zh")
    cs.add_argument("--parent", help="a symptom's group (empty: none)")
    cs.add_argument("--sections", help="a defect's sections, space-separated (empty: any)")
    cs.add_argument("--needs-note", metavar="YES|NO")
    cs.add_argument("--active", metavar="YES|NO")
    ci = cmd(codes, "import", cmd_codes_import, "create or update codes from a CSV (lead, supervisor)")
    ci.add_argument("file")
