"""What every ``rma`` command shares: the context, output, and how a command is declared."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rma import config
from rma.errors import DomainError

JSON_FLAG = "--json"
AS_FLAG = "--as"  # like --json, before or after the subcommand: `rma --as admin user add …` = `rma user add … --as admin`
_AS_AFTER = "as_user_after_command"  # where the subcommand's --as lands, until Parser.parse_args settles it

# What must never reach a terminal raw: control characters (an ANSI escape repaints the screen,
# a CR overwrites the line), bidirectional overrides, and lone surrogates (which cannot even be
# printed). TAB and LF stay. In JSON, json.dumps already escapes C0; the rest is escaped here.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def terminal_safe(text: str) -> str:
    """``text`` with every control character shown as its escape (``\\x1b``), never obeyed."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), text)


def one_line(text: str) -> str:
    """A message for stderr: one line whatever it quotes (a newline or a TAB in a value is shown escaped)."""
    return terminal_safe(text).replace("\n", "\\n").replace("\t", "\\t")


def json_text(data: Any) -> str:
    """Indented JSON for stdout; still valid JSON, with nothing a terminal would obey."""
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def echo(text: str, *, file=None, flush: bool = False) -> None:  # noqa: ANN001
    """Print a line for people, escaped for the terminal."""
    print(terminal_safe(text), file=file or sys.stdout, flush=flush)


@dataclass
class Context:
    """What a command needs, built lazily so that ``--version`` or a usage error touches no database."""

    args: argparse.Namespace
    _db: Any = field(default=None, repr=False)

    @property
    def json(self) -> bool:
        return bool(getattr(self.args, "json", False))

    def database(self, *, require_current: bool = True):
        if self._db is None:
            from rma import migrate
            from rma.db import Database, make_engine, ping

            engine = make_engine()
            ping(engine)
            if require_current:
                migrate.require_current(engine)
            self._db = Database(engine)
        return self._db

    def actor_name(self) -> str | None:
        return getattr(self.args, "as_user", None) or config.cli_user()

    def out(self, data: Any, text: str | Callable[[], str]) -> None:
        if self.json:
            print(json_text(data))
        else:
            echo(text() if callable(text) else text)


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument(JSON_FLAG, dest="json", action="store_true", default=argparse.SUPPRESS,
                   help="machine-readable output (a stable contract)")


def add_as(p: argparse.ArgumentParser, *, after_command: bool = True) -> None:
    """``--as NAME`` on the top parser (``after_command=False``) or on a subcommand."""
    p.add_argument(AS_FLAG, dest=_AS_AFTER if after_command else "as_user", metavar="NAME",
                   **({"default": argparse.SUPPRESS} if after_command else {}),
                   help="act as this user (default: $RMA_USER); before or after the subcommand")


def read_password(ctx: Context) -> str:
    if not ctx.args.password_stdin:
        raise DomainError("password_required", "give the password on standard input with --password-stdin")
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors: exit 2, as argparse does
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")

    def parse_args(self, args=None, namespace=None):  # noqa: ANN001, ANN201 - argparse's own signature
        """The top-level parse: ``--as`` after the subcommand counts as before it; given twice, both must agree."""
        ns = super().parse_args(args, namespace)
        after = vars(ns).pop(_AS_AFTER, None)
        if after is not None:
            before = getattr(ns, "as_user", None)
            if before is not None and before != after:
                self.error(f"--as {before} and --as {after} disagree: say once who acts")
            ns.as_user = after
        return ns



def add_command(parent, name: str, fn: Callable[[Context], int], help: str, json_out: bool = True):  # noqa: ANN001, A002
    sp = parent.add_parser(name, help=help, description=help)
    sp.set_defaults(func=fn)
    if json_out:
        add_json(sp)
    add_as(sp)
    return sp


def progress_bar(stream=sys.stderr) -> Callable[[int, int], None]:  # noqa: ANN001
    """A text progress bar on stderr (stdout stays clean for --json)."""
    def show(done: int, total: int) -> None:
        if not stream.isatty() and done < total:
            return
        width = 30
        filled = int(width * done / total) if total else width
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            stream.write("\n")
        stream.flush()
    return show
