"""``rma station check``: what this station PC lacks (font, printer, fixture and scanner ports)."""

from __future__ import annotations

from rma.clikit import Context
from rma.clikit import add_command as cmd


def cmd_station_check(ctx: Context) -> int:
    from rma.station.checks import check_station

    problems = [p.as_dict() for p in check_station()]

    def text() -> str:
        if not problems:
            return "everything this station needs is in place"
        return f"{len(problems)} problem(s):\n" + "\n".join(f"  [{p['code']}] {p['message']}" for p in problems)

    ctx.out({"ok": not problems, "problems": problems}, text)
    return 1 if problems else 0


def register(sub) -> None:  # noqa: ANN001
    station = sub.add_parser("station", help="this station PC").add_subparsers(dest="station_command", required=True)
    cmd(station, "check", cmd_station_check,
        "what this station lacks: a Chinese font, a printer that answers, the fixture and scanner ports; exit 1 if any")
