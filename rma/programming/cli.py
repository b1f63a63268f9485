"""Programming commands. So far: ``rma sim programmer``, the gang-programmer simulator."""

from __future__ import annotations

from rma.clikit import Context
from rma.clikit import add_command as cmd


def cmd_sim_programmer(ctx: Context) -> int:
    from drivers import programmer_sim

    a = ctx.args
    argv: list[str] = []
    for socket in a.socket:
        argv += ["--socket", socket]
    for fault in a.fault:
        argv += ["--fault", fault]
    if a.tcp:
        argv.append("--tcp")
    if a.port:
        argv += ["--port", str(a.port)]
    if a.no_pace:
        argv.append("--no-pace")
    argv += ["--baudrate", str(a.baudrate), "--latency-ms", str(a.latency_ms), "--chip-time", str(a.chip_time)]
    return programmer_sim.main(argv) or 0


def register(sub) -> None:  # noqa: ANN001
    sim = next(a for a in sub._name_parser_map["sim"]._actions if a.dest == "sim_command")  # noqa: SLF001
    p = cmd(sim, "programmer", cmd_sim_programmer, "a simulated 4-socket gang programmer: prints its URL",
            json_out=False)
    p.add_argument("--socket", action="append", default=[], metavar="N=CHIP",
                   help="the chip in socket N: W25Q16 (default in all four), W25Q32, 24C64, STM32F103CB; "
                        "N= leaves it empty")
    p.add_argument("--fault", action="append", default=[], metavar="NAME[=VALUE][@SOCKET]",
                   help="no_target, wrong_chip_id[=HEX], nack_at_block=N, write_protect, verify_mismatch_at=N, "
                        "timeout[=N], link_drop_at_byte=K, corrupt_frame[=N], power_loss_mid_block[=N], "
                        "bad_socket=S; @SOCKET limits a chip's fault to one socket")
    p.add_argument("--tcp", action="store_true", help="a loopback TCP port (socket://) instead of a pty")
    p.add_argument("--port", type=int, default=0, help="the TCP port with --tcp (default: any free port)")
    p.add_argument("--no-pace", action="store_true", help="answer at once instead of at the serial line rate")
    p.add_argument("--baudrate", type=int, default=921600, help="the line rate it is paced at (921600)")
    p.add_argument("--latency-ms", type=float, default=0.0, help="added to every reply (a USB bridge's latency)")
    p.add_argument("--chip-time", type=float, default=0.0,
                   help="scale of the chips' datasheet erase/program times (0: instant, 1: typical)")
