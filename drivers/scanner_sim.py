"""Barcode scanner simulators that speak the same bytes as a real one, for tests and demos.

:class:`ScannerSimulator` is a USB-CDC scanner: a pseudo-terminal in raw mode whose slave is
reached through a stable symlink (like ``/dev/serial/by-id/...``), so a station opens
``sim.url`` exactly as it would open ``/dev/ttyACM0``. :class:`TcpScannerSimulator` is a
scanner behind a serial device server, for ``socket://127.0.0.1:PORT``. Both can be
unplugged and plugged back in.

    python -m drivers.scanner_sim [--tcp [--port N]] [--aim ]C0] [--terminator CR|LF|CRLF] [--serve]

prints the URL to give the station, then sends each line typed on stdin as one scan, until end
of input (Ctrl-D) or, with ``--serve``, until SIGTERM or SIGINT; either signal always stops it
and removes its pty link.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time

from drivers.pty_link import PtyLink, Stopped, stop_on_signals, wait_for_stop
from drivers.scanner import parse_terminator

CHUNK_SIZE = 3  # bytes per piece when a scan is sent ``chunked``, like a slow UART
CHUNK_DELAY = 0.004
SEND_TIMEOUT = 5.0  # nothing in a simulator waits forever either


def scan_bytes(text: str, *, aim_prefix: str | None = None, terminator: bytes | str = b"\r") -> bytes:
    """What a scanner sends for a label reading ``text``: [AIM identifier] payload terminator."""
    return (aim_prefix or "").encode("ascii") + text.encode("utf-8") + parse_terminator(terminator)


class _Simulator:
    """What both simulators do; a subclass provides ``url``, ``_send``, ``unplug``, ``replug``."""

    url: str

    def scan(self, text: str, *, aim_prefix: str | None = None, terminator: bytes | str = b"\r",
             chunked: bool = False) -> None:
        """Send one scan of ``text``; ``chunked`` sends it in small pieces with tiny pauses."""
        data = scan_bytes(text, aim_prefix=aim_prefix, terminator=terminator)
        if not chunked:
            self._send(data)
            return
        for start in range(0, len(data), CHUNK_SIZE):
            self._send(data[start : start + CHUNK_SIZE])
            time.sleep(CHUNK_DELAY)

    def burst(self, texts: list[str], *, aim_prefix: str | None = None,
              terminator: bytes | str = b"\r") -> None:
        """Send many scans back to back in one write, as a scanner's buffer replays them."""
        self._send(b"".join(scan_bytes(t, aim_prefix=aim_prefix, terminator=terminator) for t in texts))

    def noise(self, data: bytes) -> None:
        """Send raw bytes as they are (line noise, a wrong baud rate, a half scan)."""
        self._send(data)

    def _send(self, data: bytes) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        raise NotImplementedError


class ScannerSimulator(_Simulator):
    """A USB serial scanner on a pseudo-terminal; ``url`` is a symlink to the current pty slave.

    ``unplug()`` closes the pty (reads on the station side fail, the symlink vanishes, as
    the by-id link does when a USB cable is pulled); ``replug()`` makes a new pty and points
    the same symlink at it. The pty and its link are a :class:`drivers.pty_link.PtyLink`.
    """

    def __init__(self, directory: str | os.PathLike | None = None,
                 name: str = "usb-RMA_Simulated_Scanner_0001-if00") -> None:
        self.pty = PtyLink(name, directory, prefix="rma-scanner-")
        self.directory, self.link, self.url = self.pty.directory, self.pty.link, self.pty.url

    @property
    def plugged(self) -> bool:
        return self.pty.plugged

    @property
    def device(self) -> str | None:
        """The pty slave the link points at now (``/dev/pts/N``), None while unplugged."""
        return self.pty.device

    def replug(self) -> None:
        self.pty.replug()

    def unplug(self) -> None:
        self.pty.unplug()

    def close(self) -> None:
        self.pty.close()

    def _send(self, data: bytes) -> None:
        try:
            self.pty.send(data, timeout=SEND_TIMEOUT)
        except ConnectionError:
            raise ConnectionError("the simulated scanner is unplugged") from None


class TcpScannerSimulator(_Simulator):
    """A scanner behind a serial device server: listens on ``127.0.0.1:port``, one client at a time.

    ``drop()`` cuts the current connection and keeps listening (a network blip);
    ``unplug()`` also stops listening (connections are refused) until ``replug()``.
    Scans sent while no station is connected wait up to ``client_timeout`` for one.
    """

    def __init__(self, port: int = 0, *, host: str = "127.0.0.1", client_timeout: float = SEND_TIMEOUT) -> None:
        self.host = host
        self.port = port
        self.client_timeout = client_timeout
        self._listener: socket.socket | None = None
        self._client: socket.socket | None = None
        self._accepter: threading.Thread | None = None
        self._changed = threading.Condition()
        self.replug()
        self.url = f"socket://{self.host}:{self.port}"

    @property
    def plugged(self) -> bool:
        return self._listener is not None

    @property
    def connected(self) -> bool:
        return self._client is not None

    def replug(self) -> None:
        with self._changed:
            if self._listener is not None:
                return
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))
            listener.listen(1)
            listener.settimeout(0.1)  # so the accept loop notices unplug()
            self.port = listener.getsockname()[1]
            self._listener = listener
            self._accepter = threading.Thread(target=self._accept, args=(listener,),
                                              name=f"scanner-sim-{self.port}", daemon=True)
            self._accepter.start()

    def wait_for_client(self, timeout: float = SEND_TIMEOUT) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._client is not None, timeout)

    def drop(self) -> None:
        with self._changed:
            client, self._client = self._client, None
            self._changed.notify_all()
        if client is not None:
            client.close()

    def unplug(self) -> None:
        with self._changed:
            listener, self._listener = self._listener, None
            accepter, self._accepter = self._accepter, None
        if listener is not None:
            listener.close()
        if accepter is not None:
            accepter.join(timeout=2)
        self.drop()

    def close(self) -> None:
        self.unplug()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed by unplug()
            client.settimeout(SEND_TIMEOUT)
            with self._changed:
                old, self._client = self._client, client
                self._changed.notify_all()
            if old is not None:
                old.close()  # a device server serves one station; the newest wins

    def _send(self, data: bytes) -> None:
        if not self.wait_for_client(self.client_timeout):
            raise TimeoutError(f"no station connected to {self.url} within {self.client_timeout:g} s")
        with self._changed:
            client = self._client
        if client is None:
            raise ConnectionError("the station's connection was dropped")
        client.sendall(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drivers.scanner_sim",
                                     description="Simulate a barcode scanner; each line on stdin is one scan.")
    parser.add_argument("--tcp", action="store_true", help="listen on 127.0.0.1 for socket:// instead of a pty")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    parser.add_argument("--aim", default=None, help="AIM identifier to put before each scan, e.g. ]C0")
    parser.add_argument("--terminator", default="CR", help="CR (default), LF or CRLF")
    parser.add_argument("--serve", action="store_true",
                        help="run on after end of input, until SIGTERM or SIGINT (for starting it in the background)")
    args = parser.parse_args(argv)
    terminator = parse_terminator(args.terminator)

    def scan(line: str) -> None:
        try:
            sim.scan(line.rstrip("\r\n"), aim_prefix=args.aim, terminator=terminator)
        except (OSError, TimeoutError) as error:
            print(f"not sent: {error}", file=sys.stderr, flush=True)

    try:
        with stop_on_signals():
            sim: _Simulator = TcpScannerSimulator(args.port) if args.tcp else ScannerSimulator()
            with sim:
                print(f"Scanner simulator ready. Point the station at: {sim.url}", flush=True)
                print("Type a label and press Enter to scan it; "
                      + ("SIGTERM or Ctrl-C to quit." if args.serve else "Ctrl-D to quit."), file=sys.stderr, flush=True)
                wait_for_stop(scan, serve=args.serve)
    except Stopped:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
