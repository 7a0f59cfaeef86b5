"""``gaussdb-emulator`` (``python -m gaussdb_emulator``): serve the emulator until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

from gaussdb_emulator.control import help_text
from gaussdb_emulator.lists import parse_services
from gaussdb_emulator.server import Emulator, EmulatorConfig
from gaussdb_emulator.services import SHAPES

_DEFAULTS = EmulatorConfig()
# How long --background waits for the server it started to listen: start-up takes well under a second here
# (unverified elsewhere); past this something is wrong and saying so beats hanging a script.
BACKGROUND_START_LIMIT = 15.0
USAGE_NOTES = """\
start and stop it from a script:
  eval "$(gaussdb-emulator --port 0 --background)"
      returns once it listens; exports GAUSSDB_ENDPOINT, HW_PROJECT_ID,
      HW_ACCESS_KEY, HW_SECRET_KEY (test values) and GAUSSDB_EMULATOR_PID
  kill "$GAUSSDB_EMULATOR_PID"
      stops it
  gaussdb-emulator --ready-file PATH &
      the other way: PATH holds the URL once it listens (removed at exit)
"""


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
        epilog=f"{USAGE_NOTES}\n{help_text()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    parser.add_argument(
        "--ready-file",
        metavar="PATH",
        type=Path,
        help="write the URL to PATH once listening (atomically); removed when the emulator stops",
    )
    parser.add_argument(
        "--background",
        action="store_true",
        help="start the emulator in the background, return once it listens and print shell 'export' lines "
        "(for eval) with its URL, project, test keys and GAUSSDB_EMULATOR_PID",
    )
    return parser


def _write_ready(path: Path, url: str) -> None:
    # Written under another name and renamed, so whoever polls for the file never reads half of it.
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(url + "\n")
    os.replace(partial, path)


def _background(argv: list[str], config: EmulatorConfig) -> int:
    """Run this program again without --background, wait for its ready file, print exports for a shell."""
    forwarded = [arg for arg in argv if arg != "--background"]
    # The child's stderr goes to a log file, not ours: whoever captures our output (a command substitution, a
    # test) would otherwise wait for the child's end to see the pipe close.
    log = Path(tempfile.mkstemp(prefix="gaussdb-emulator-", suffix=".log")[1])
    with tempfile.TemporaryDirectory(prefix="gaussdb-emulator-") as scratch, log.open("w") as log_file:
        ready = Path(scratch) / "url"
        child = subprocess.Popen(
            [sys.executable, "-m", "gaussdb_emulator", *forwarded, "--ready-file", str(ready)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # the caller reads our stdout for the exports; the banner is not one
            stderr=log_file,
        )
        limit = time.monotonic() + BACKGROUND_START_LIMIT
        while not ready.exists():
            code = child.poll()
            if code is not None:
                print(f"emulator: did not start (exit {code}): {log.read_text().strip()}", file=sys.stderr)
                print("false")  # so that `eval "$(gaussdb-emulator --background)"` fails too
                return code or 1
            if time.monotonic() > limit:
                child.terminate()
                print(f"emulator: not listening after {BACKGROUND_START_LIMIT:g} s; stopped it", file=sys.stderr)
                print("false")
                return 1
            time.sleep(0.05)
        url = ready.read_text().strip()
    exports = {
        "GAUSSDB_ENDPOINT": url,
        "HW_PROJECT_ID": config.project_id,
        "HW_ACCESS_KEY": config.access_key,
        "HW_SECRET_KEY": config.secret_key,
        "GAUSSDB_EMULATOR_PID": str(child.pid),
    }
    for name, value in exports.items():
        print(f"export {name}={shlex.quote(value)}")
    print(f"emulator: listening on {url} (pid {child.pid}, log {log}; stop it with kill {child.pid})", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
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
    if args.background:
        # The ready file is the child's own; one given here would be removed when the child stops anyway.
        if args.ready_file is not None:
            print("emulator: --background and --ready-file do not go together", file=sys.stderr)
            return 2
        return _background(argv, config)
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
        print(f"  control          {emulator.url}/_emulator/ (an index of the control API)")
        # The file first: whoever sees the banner line can rely on the file being there.
        if args.ready_file is not None:
            try:
                _write_ready(args.ready_file, emulator.url)
            except OSError as error:
                print(f"emulator: cannot write {args.ready_file}: {error.strerror or error}", file=sys.stderr)
                return 1
        print(f"listening on {emulator.url}", flush=True)
        # A timed wait keeps the main thread returning to the interpreter, where signal handlers run.
        while not stop.wait(0.5):
            pass
    except BrokenPipeError:
        # Whoever read our stdout has gone; serving on is pointless and a traceback would be noise.
        pass
    finally:
        emulator.stop()
        if args.ready_file is not None:
            args.ready_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
