"""What every simulator on a pseudo-terminal shares: a pty behind a stable link, and a process that cleans up.

:class:`PtyLink` is a USB serial device as the station sees it: a pty in raw mode whose slave
is reached through a symlink that keeps its name, like udev's ``/dev/serial/by-id/...``:

    link = PtyLink("usb-RMA_FX-100_FX100-0007-if00-port0")   # a pty, published at link.url
    link.url          # the path a station opens (the symlink), the same for the link's whole life
    link.fileno()     # the master side, for select(); the simulator reads and writes there
    link.read()       # what the station sent, without waiting (b"" when nothing is there)
    link.send(data)   # to the station; waits while it does not read, but not forever
    link.unread()     # bytes sent that the station has not read yet
    link.unplug()     # the cable is pulled: pty closed, link removed
    link.replug()     # plugged back in: a new pty, the same link pointed at it
    link.close()      # unplug, and remove the folder if the link made it

How a simulator's command-line process lives: :func:`stop_on_signals` turns SIGTERM and
SIGINT into :class:`Stopped`, raised through the ``with`` blocks that close the links and
remove their folders; :func:`wait_for_stop` waits for end of input or, with ``serve=True``,
for the signal alone.

Nothing here imports ``rma``. POSIX only (ptys).
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import shutil
import signal
import struct
import sys
import tempfile
import termios
import threading
import time
import tty
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

SEND_TIMEOUT = 5.0  # nothing in a simulator waits forever for the station to read
_POLL = 0.05  # how often a blocked send looks again (and notices unplug or cancel)


class PtyLink:
    """A pty in raw mode whose slave is published as ``directory / name``; plugged in when made.

    ``directory=None`` makes a temporary folder (``prefix`` + random) that :meth:`close` removes;
    a given directory is left in place. The link is replaced atomically (a staging link
    renamed over it), so a station never sees a half-made link. The slave stays open on our
    side, so the pty does not hang up between the station's opens. Thread-safe.
    """

    def __init__(self, name: str, directory: str | os.PathLike | None = None, *, prefix: str = "rma-pty-") -> None:
        self._own_directory = directory is None
        self.directory = Path(directory if directory is not None else tempfile.mkdtemp(prefix=prefix))
        self.link = self.directory / name
        self.url = str(self.link)
        self._master: int | None = None
        self._slave: int | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.replug()

    # -------------------------------------------------------------- plugging

    @property
    def plugged(self) -> bool:
        return self._master is not None

    @property
    def device(self) -> str | None:
        """The pty slave the link points at now (``/dev/pts/N``), None while unplugged."""
        slave = self._slave
        return os.ttyname(slave) if slave is not None else None

    def replug(self) -> None:
        """A new pty, and the link pointed at it; nothing if plugged in already."""
        with self._lock:
            if self._closed:
                raise ValueError(f"{self.url} is closed")
            if self._master is not None:
                return
            master, slave = os.openpty()
            # Raw: no CR->LF translation, no echo back into the master, no line buffering.
            tty.setraw(slave)
            os.set_blocking(master, False)
            self._master, self._slave = master, slave
            staging = self.link.with_name(self.link.name + ".new")
            staging.unlink(missing_ok=True)
            staging.symlink_to(os.ttyname(slave))
            os.replace(staging, self.link)

    def unplug(self) -> None:
        """Pty closed and link removed, as a by-id link vanishes when the cable is pulled."""
        with self._lock:
            if self._master is None:
                return
            self.link.unlink(missing_ok=True)
            os.close(self._master)
            os.close(self._slave)
            self._master = self._slave = None

    def close(self) -> None:
        """Unplug for good; remove the folder if this link made it. Any number of times."""
        self.unplug()
        with self._lock:
            self._closed = True
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> PtyLink:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -------------------------------------------------------------- bytes

    def fileno(self) -> int:
        """The master side (non-blocking), for ``select``; ConnectionError while unplugged."""
        master = self._master
        if master is None:
            raise ConnectionError(f"{self.url} is unplugged")
        return master

    def read(self, size: int = 4096) -> bytes:
        """What the station sent, without waiting: ``b""`` when nothing is there."""
        try:
            return os.read(self.fileno(), size)
        except BlockingIOError:
            return b""
        except OSError as error:
            if error.errno != errno.EIO:  # EIO: no slave open; cannot happen while we hold one
                raise
            return b""

    def send(self, data: bytes, *, timeout: float = SEND_TIMEOUT, cancel: threading.Event | None = None) -> None:
        """Send all of ``data``; while the station does not read and the pty is full, wait up to ``timeout``.

        TimeoutError if it is still not sent by then (the rest is dropped), ConnectionError if
        unplugged; returns early, dropping the rest, once ``cancel`` is set.
        """
        deadline = time.monotonic() + timeout
        view = memoryview(data)
        while view:
            with self._lock:
                if self._master is None:
                    raise ConnectionError(f"{self.url} is unplugged")
                try:
                    view = view[os.write(self._master, view) :]
                    continue
                except BlockingIOError:
                    master = self._master
            if cancel is not None and cancel.is_set():
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"nobody read {len(view)} bytes from {self.url}")
            select.select([], [master], [], min(left, _POLL))

    def unread(self) -> int:
        """Bytes sent to the station that it has not read yet (0 while unplugged). The kernel moves
        bytes to the station's side a moment after :meth:`send` returns, so a count taken at once
        may still be short."""
        with self._lock:
            if self._slave is None:
                return 0
            return struct.unpack("i", fcntl.ioctl(self._slave, termios.TIOCINQ, b"\0\0\0\0"))[0]


# ---------------------------------------------------------------- a simulator's process


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGINT arrived: the simulator's process ends the normal way, cleaning up."""


@contextmanager
def stop_on_signals(signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)) -> Iterator[None]:
    """Inside the block the first SIGTERM or SIGINT raises :class:`Stopped` (so ``with`` blocks inside
    close their links), and later ones are ignored (so that cleanup is not cut short). The
    previous handlers come back after the block. Main thread only.

        try:
            with stop_on_signals(), PtyLink(name) as link:
                ...  # serve, then wait_for_stop()
        except Stopped:
            pass
    """
    stopping = False

    def handler(signum: int, _frame) -> None:  # noqa: ANN001
        nonlocal stopping
        if not stopping:
            stopping = True
            raise Stopped(signal.Signals(signum).name)

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def wait_for_stop(on_line: Callable[[str], None] | None = None, *, serve: bool = False,
                  stdin: TextIO | None = None) -> None:
    """Block until the simulator should stop: hand each line of ``stdin`` (default ``sys.stdin``)
    to ``on_line``, then return at end of input (Ctrl-D); with ``serve``, carry on after it
    (a process started in the background, stdin at /dev/null) until a signal ends the wait.

    Meant for inside :func:`stop_on_signals`, whose :class:`Stopped` ends it on SIGTERM or SIGINT.
    """
    for line in stdin if stdin is not None else sys.stdin:
        if on_line is not None:
            on_line(line)
    while serve:
        signal.pause()
