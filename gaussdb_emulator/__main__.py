"""``gaussdb-emulator`` (``python -m gaussdb_emulator``): serve the emulator until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
from types import FrameType

from gaussdb_emulator.lists import parse_services
from gaussdb_emulator.server import Emulator, EmulatorConfig
from gaussdb_emulator.services import SHAPES

_DEFAULTS = EmulatorConfig()


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not number > 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gaussdb-emulator",
        description="Local stand-in for the GaussDB task center and IAM (test credentials only).",
    )
    parser.add_argument("--host", default=_DEFAULTS.host, help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="port, 0 for a free one (default %(default)s)")
    parser.add_argument("--project-id", default=_DEFAULTS.project_id)
    parser.add_argument("--access-key", default=_DEFAULTS.access_key)
    parser.add_argument("--secret-key", default=_DEFAULTS.secret_key)
    parser.add_argument("--temp-access-key", default=_DEFAULTS.temp_access_key)
    parser.add_argument("--temp-secret-key", default=_DEFAULTS.temp_secret_key)
    parser.add_argument("--security-token", default=_DEFAULTS.security_token)
    parser.add_argument("--token", default=_DEFAULTS.token, help="static X-Auth-Token that is always accepted")
    parser.add_argument("--user", default=_DEFAULTS.user)
    parser.add_argument("--password", default=_DEFAULTS.password)
    parser.add_argument("--domain", default=_DEFAULTS.domain)
    parser.add_argument(
        "--token-ttl", type=_positive, default=_DEFAULTS.token_ttl, help="IAM token lifetime in seconds"
    )
    parser.add_argument(
        "--service",
        choices=tuple(SHAPES),
        default=_DEFAULTS.service,
        help="task center whose answer an unknown job id gets (default %(default)s); a known job is always "
        "answered in its own service's shape",
    )
    parser.add_argument(
        "--no-list-api",
        action="append",
        default=[],
        metavar="SERVICE",
        help="answer SERVICE's list call as where it does not exist (404); repeatable, or 'all'",
    )
    parser.add_argument("--verbose", action="store_true", help="log one line per request to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not 0 <= args.port <= 65535:
        print(f"emulator: invalid port {args.port}", file=sys.stderr)
        return 2
    try:
        no_list_api = parse_services(args.no_list_api)
    except ValueError as error:
        print(f"emulator: --no-list-api: {error}", file=sys.stderr)
        return 2
    config = EmulatorConfig(
        host=args.host,
        port=args.port,
        project_id=args.project_id,
        access_key=args.access_key,
        secret_key=args.secret_key,
        temp_access_key=args.temp_access_key,
        temp_secret_key=args.temp_secret_key,
        security_token=args.security_token,
        token=args.token,
        user=args.user,
        password=args.password,
        domain=args.domain,
        token_ttl=args.token_ttl,
        verbose=args.verbose,
        service=args.service,
        no_list_api=no_list_api,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Installed before binding so a signal arriving during start-up still ends in a clean exit.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    emulator = Emulator(config)
    try:
        emulator.start()
    except OSError as error:
        print(f"emulator: cannot listen on {args.host}:{args.port}: {error.strerror or error}", file=sys.stderr)
        return 1
    try:
        print("GaussDB task-center emulator (test credentials, not secrets)")
        for field in dataclasses.fields(EmulatorConfig):
            if field.name not in ("host", "port", "verbose", "no_list_api"):
                print(f"  {field.name:<16} {getattr(config, field.name)}")
        print(f"  task center      {emulator.url}/v3/{config.project_id}/jobs?id=...  (also /mysql/v3/...)")
        print(f"  IAM URL          {emulator.url}/v3  (password tokens: POST /v3/auth/tokens)")
        print(f"  list calls off   {', '.join(sorted(no_list_api)) or 'none'}")
        print(f"  control          {emulator.url}/_emulator/ (jobs, faults, tokens, stats, reset, list-api)")
        print(f"listening on {emulator.url}", flush=True)
        # A timed wait keeps the main thread returning to the interpreter, where signal handlers run.
        while not stop.wait(0.5):
            pass
    except BrokenPipeError:
        # Whoever read our stdout has gone; serving on is pointless and a traceback would be noise.
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
