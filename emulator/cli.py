"""`m365dash emulator`: run the emulator in the foreground.

Prints exactly one line, `ready <graph_url> <config path>`, once it accepts requests, and stops
cleanly (saving its state) on Ctrl-C or SIGTERM.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path


def _home() -> Path:
    return Path(os.environ.get("M365DASH_HOME") or Path.home() / ".m365dash").expanduser()


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds >= 0")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--state-dir", type=Path, default=None,
                        help="state folder (default $M365DASH_HOME/emulator)")
    parser.add_argument("--tenants", type=int, default=6, help="customer tenants (default 6)")
    parser.add_argument("--users-per-tenant", type=_positive, default=None,
                        help="users in every tenant (default: varied sizes, 15 to 120)")
    parser.add_argument("--groups-per-tenant", type=int, default=20, help="groups per tenant (default 20)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the demo data and faults")
    parser.add_argument("--latency-ms", type=float, default=0, help="added to every Graph answer")
    parser.add_argument("--throttle-rate", type=_rate, default=0.0, help="share of requests answered 429")
    parser.add_argument("--error-rate", type=_rate, default=0.0, help="share of requests answered 503")
    parser.add_argument("--drop-after-write-rate", type=_rate, default=0.0,
                        help="share of writes applied and then left without an answer")
    parser.add_argument("--replication-lag", type=_seconds, default=0.0,
                        help="seconds (on average) a new user may answer 404 to follow-up calls "
                             "(assignLicense, group $ref, manager, roles), as Graph does; default 0")
    parser.add_argument("--access-traps", action="store_true",
                        help="one tenant lacks AuditLog.Read.All, one has no Entra ID P1, one no "
                             "consent (emulator/access.py)")


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "emulator", help="run the local Microsoft 365 emulator (Graph + token endpoint)",
        description="Serve emulated Microsoft Graph v1.0 and Entra ID over HTTPS on this machine, "
                    "with demo tenants, and write m365dash.toml pointing at it.")
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    from . import Emulator

    state_dir = args.state_dir or _home() / "emulator"
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Emulator(tenants=args.tenants, users_per_tenant=args.users_per_tenant, seed=args.seed,
                      groups_per_tenant=args.groups_per_tenant, state_dir=state_dir, host=args.host,
                      port=args.port, latency_ms=args.latency_ms, throttle_rate=args.throttle_rate,
                      error_rate=args.error_rate,
                      drop_after_write_rate=args.drop_after_write_rate,
                      access_traps=getattr(args, "access_traps", False),
                      replication_lag=getattr(args, "replication_lag", 0.0)) as emu:
            print(f"ready {emu.graph_url} {emu.config_path}", flush=True)
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator",
                                     description="Run the local Microsoft 365 emulator.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
