"""``gaussdb-job``: show a task-center job, or wait for jobs, from a shell, a CI job or a Terraform local-exec.

``main`` takes its environment, streams, polling policy and transport, so tests run it in-process over real HTTP
to the emulator; the console script calls it with none of them.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import errno
import json
import os
import random
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from types import FrameType
from typing import Any, NoReturn, TextIO

from provider import __version__
from provider.cli import exit_codes
from provider.cli import run as run_command
from provider.cli.display import SafeStream, clean, make_display
from provider.cli.exit_codes import ExitCode
from provider.config import words
from provider.config.credentials import redact, secret_values
from provider.config.settings import LIST_API_ENV, LIST_API_MODES, list_api, resolve_service
from provider.core import durations, services, validate
from provider.core.errors import (
    ApiError,
    AuthError,
    GaussDBError,
    JobNotFound,
    WaitCancelled,
    WaitTimeout,
)
from provider.taskcenter.batch import reader_for
from provider.taskcenter.client import TaskCenterClient
from provider.taskcenter.compose import client_for
from provider.taskcenter.models import OUTPUT_FIELDS, Job
from provider.waiting import budget as budget_module
from provider.waiting.budget import DEFAULT_MAX_RATE, MAX_RATE_ENV, RequestBudget
from provider.waiting.clock import SYSTEM_CLOCK, Cancel
from provider.waiting.engine import Hooks, WaitOptions, wait_all
from provider.waiting.engine import Result as WaitResult
from provider.waiting.policy import DEFAULT_POLICY, DEFAULT_TIMEOUT, Policy
from provider.wire.transport import Transport

PROG = "gaussdb-job"
# Job ids one `wait` takes (after duplicates are dropped): enough for any fleet operation, few enough that the
# JSON list and the live board stay readable (unverified: a usability choice, not a measured limit).
MAX_IDS_PER_CALL = 1000
# Times `show` sends its one read again after a transient failure (a dropped connection, a 503, a throttle),
# honouring Retry-After within the transport's bound: show has no wait engine to ask again later, and a user
# typing it would only retry by hand (issue 16: "show may keep a small bounded retry").
SHOW_RETRIES = 2
# Every entry of wait's JSON list has these keys (the job's fields, then how its wait ended).
FIELD_NAMES = [*OUTPUT_FIELDS, "error"]
# After Ctrl-C, how long the waits get to notice before the jobs are printed as far as known: a request in
# flight (up to the read timeout) is not waited for.
CANCEL_GRACE = 1.0
SIGNAL_CODES: dict[signal.Signals, int] = {signal.SIGINT: ExitCode.INTERRUPTED, signal.SIGTERM: ExitCode.TERMINATED}

EXIT_CODES = exit_codes.help_text()
EXAMPLES = """\
examples:
  gaussdb-job show a9767ede-fe0f-4888-9003-e843a4c90514
  gaussdb-job wait a9767ede-fe0f-4888-9003-e843a4c90514 --timeout 30m
  gaussdb-job wait ID1,ID2 ID3 --progress plain > jobs.json
  gaussdb-job --region eu-de wait ID --not-found-grace 2m
  gaussdb-job run restart INSTANCE_ID --timeout 30m
"""
ENVIRONMENT = """\
settings come from the flags, else the environment: HW_PROJECT_ID, HW_REGION_NAME, GAUSSDB_ENDPOINT,
GAUSSDB_API_PATH, GAUSSDB_SERVICE; credentials only from the environment: HW_ACCESS_KEY/HW_SECRET_KEY
(and HW_SECURITY_TOKEN), HW_AUTH_TOKEN, or HW_USER_NAME/HW_PASSWORD/HW_DOMAIN_NAME (HW_AUTH_URL).
"""
# Flags that mean something only to wait: refused on show instead of being ignored.
WAIT_ONLY = ("timeout", "not_found_grace", "outage_limit", "accept_scheduled", "max_rate", "list_api", "progress")


class _Exit(Exception):
    """argparse wants to end the program (help, version, usage error): main returns the code instead."""

    def __init__(self, code: int) -> None:
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse writing to the streams main was given, raising instead of exiting, and suggesting close matches."""

    def __init__(self, *args: Any, out: TextIO | None, err: TextIO | SafeStream, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.out, self.err = out, err
        self.commands: dict[str, argparse.ArgumentParser] = {}

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            target = self.out if file is sys.stdout and self.out is not None else self.err
            target.write(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self.err.write(message)
        raise _Exit(status)

    def error(self, message: str) -> NoReturn:
        self.err.write(self.format_usage())
        self.err.write(f"{PROG}: error: {message}{self._suggestion(message)}\n")
        # A command's own parser points at its own help ("gaussdb-job run --help"), the top one at both.
        command = self.prog.rsplit(" ", 1)[-1] if self.prog != PROG else ""  # argparse: "<parent usage> run"
        more = f"'{PROG} {command} --help'" if command else f"'{PROG} --help' (or '{PROG} wait --help')"
        self.err.write(f"Try {more} for more.\n")
        raise _Exit(ExitCode.USAGE)

    def _suggestion(self, message: str) -> str:
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice:
            options = re.findall(r"'([^']*)'", choice.group(2))
            match = difflib.get_close_matches(choice.group(1), options, n=1)
            return f"; did you mean '{match[0]}'?" if match else ""
        unknown = re.search(r"unrecognized arguments: (.*)", message)
        if unknown:
            flags = [word.split("=")[0] for word in unknown.group(1).split() if word.startswith("-")]
            for flag in flags:
                match = difflib.get_close_matches(flag, list(self._option_string_actions), n=1)
                if match:
                    return f"; did you mean '{match[0]}'?"
        return ""


def _duration(flag: str, *, allow_zero: bool = False) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            return durations.parse(value, flag, allow_zero=allow_zero)
        except GaussDBError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _rate(value: str) -> float:
    try:
        return validate.rate(value, "--max-rate")
    except GaussDBError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _service(value: str) -> str:
    """A service name or alias, through the services table (``taurusdb`` is ``gaussdb-mysql``)."""
    try:
        return resolve_service(value).name
    except GaussDBError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_flags(parser: argparse.ArgumentParser) -> None:
    """The same flags on the main parser and on each command, so they may come before or after the command.
    Defaults are suppressed so that a flag given before the command is not reset by the command's parser."""
    s = argparse.SUPPRESS
    where = parser.add_argument_group("where the jobs are (default: the environment)")
    where.add_argument("--project-id", default=s, help="project ID (HW_PROJECT_ID)")
    where.add_argument("--region", default=s, help="region, to derive the endpoint from (HW_REGION_NAME)")
    where.add_argument("--endpoint", default=s, help="API base URL (GAUSSDB_ENDPOINT, or derived from the region)")
    where.add_argument(
        "--api-path",
        default=s,
        help="API path prefix (GAUSSDB_API_PATH; default /v3, or /mysql/v3 for an explicit gaussdb-mysql endpoint)",
    )
    where.add_argument(
        "--service",
        default=s,
        type=_service,
        metavar="SERVICE",
        help=f"which task center: {services.names()} (GAUSSDB_SERVICE; default {services.DEFAULT_SERVICE})",
    )
    how = parser.add_argument_group("how to wait (wait and run; not show)")
    how.add_argument(
        "--timeout",
        default=s,
        type=_duration("--timeout"),
        metavar="DURATION",
        help="for all jobs together: 90, 90s, 10m, 1h30m (default 1h)",
    )
    how.add_argument(
        "--not-found-grace",
        default=s,
        type=_duration("--not-found-grace", allow_zero=True),
        metavar="DURATION",
        help="how long a job may be unknown before it counts as not found (default 60s)",
    )
    how.add_argument(
        "--outage-limit",
        default=s,
        type=_duration("--outage-limit", allow_zero=True),
        metavar="DURATION",
        help="how long throttling, 5xx or network errors may last before giving up (default 2m)",
    )
    how.add_argument(
        "--accept-scheduled",
        default=s,
        action="store_true",
        help="count a job Pending for the maintenance window as done",
    )
    how.add_argument(
        "--max-rate",
        default=s,
        type=_rate,
        metavar="PER_SECOND",
        help=f"requests per second for all jobs together, {validate.MIN_RATE:g} to {validate.MAX_RATE:g} "
        f"({MAX_RATE_ENV}; default {DEFAULT_MAX_RATE:g})",
    )
    how.add_argument(
        "--list-api",
        default=s,
        choices=LIST_API_MODES,
        help=f"read many jobs with one list call a round ({LIST_API_ENV}; default auto: where offered)",
    )
    show = parser.add_argument_group("output")
    show.add_argument(
        "--progress",
        default=s,
        choices=("auto", "bars", "plain", "none"),
        help="on stderr: live bars on a terminal, plain lines otherwise (default auto)",
    )
    show.add_argument("-q", "--quiet", default=s, action="store_true", help="no progress; errors only")


def build_parser(out: TextIO | None = None, err: TextIO | SafeStream | None = None) -> _Parser:
    err = err or sys.stderr
    common: dict[str, Any] = {
        "out": out,
        "err": err,
        "allow_abbrev": False,
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }
    parser = _Parser(
        prog=PROG,
        usage=f"{PROG} [flags] show JOB_ID | wait JOB_ID[,JOB_ID...] [JOB_ID ...] | run OPERATION INSTANCE_ID [flags]",
        description="Show or wait for GaussDB task-center jobs, or start an operation and wait for its job "
        "(Huawei Cloud, Open Telekom Cloud).",
        epilog=f"{ENVIRONMENT}\n{EXIT_CODES}\n{EXAMPLES}",
        **common,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _add_flags(parser)
    sub = parser.add_subparsers(dest="command", metavar="{show,wait,run}", required=True, parser_class=_Parser)
    show = sub.add_parser(
        "show",
        help="print one job as a JSON object",
        usage=f"{PROG} show JOB_ID [flags]",
        description="Print one job as a JSON object on stdout.",
        epilog=f"{EXIT_CODES}\n{EXAMPLES}",
        **common,
    )
    show.add_argument("job_id", metavar="JOB_ID")
    _add_flags(show)
    wait = sub.add_parser(
        "wait",
        help="wait for jobs; print them as a JSON list",
        usage=f"{PROG} wait JOB_ID[,JOB_ID...] [JOB_ID ...] [flags]",
        description="Wait for every job side by side; progress on stderr, the final jobs as a JSON list on stdout "
        "(every entry has the job's fields and 'error': null or what went wrong).",
        epilog=f"{EXIT_CODES}\n{EXAMPLES}",
        **common,
    )
    wait.add_argument("job_ids", metavar="JOB_ID", nargs="+")
    _add_flags(wait)
    parser.commands = {"show": show, "wait": wait, "run": run_command.add_parser(sub, common, _add_flags)}
    return parser


@dataclass
class _Run:
    """One invocation's streams and environment."""

    env: Mapping[str, str]
    out: TextIO | None
    err: SafeStream
    transport: Transport | None

    @property
    def secrets(self) -> list[str]:
        """Every credential of the environment and every IAM token issued so far, asked anew each time."""
        return secret_values({}, self.env)

    def say(self, message: str) -> None:
        """One line on stderr, prefixed, cleaned of control characters, without secrets."""
        self.err.write(f"{PROG}: {clean(redact(message, self.secrets), None)}\n")
        self.err.flush()

    def client(self, args: argparse.Namespace) -> TaskCenterClient:
        names = ("project_id", "region", "endpoint", "api_path", "service")
        overrides = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
        return client_for(overrides, {}, self.env, transport=self.transport)


def _hints(client: TaskCenterClient, errors: Sequence[BaseException]) -> list[str]:
    """What to check, once per kind of error: the user sees the URL that was asked and the likely fix."""
    hints = []
    settings = client.settings
    if any(isinstance(e, ApiError) and e.status == 404 for e in errors):
        hints.append(
            f"hint: the API answered 404 for GET {settings.jobs_url()}?id=...: the API path is probably wrong "
            f"(now {settings.api_path}); current endpoints use --api-path /v3 (GAUSSDB_API_PATH=/v3), "
            "older ones /mysql/v3"
        )
    if any(isinstance(e, JobNotFound) for e in errors):
        hints.append(
            f"hint: not found means the task center at {settings.endpoint} does not know the job in project "
            f"{settings.project_id}: check the project (--project-id, HW_PROJECT_ID) and the region or endpoint "
            "(--region, --endpoint); jobs can be queried only for one month after they were created, and a new "
            "job takes a few seconds to appear (--not-found-grace)"
        )
    if any(isinstance(e, AuthError) for e in errors):
        hints.append(
            f"hint: the credentials were refused for project {settings.project_id} at {settings.endpoint}: check "
            "the keys (HW_ACCESS_KEY and HW_SECRET_KEY, or HW_AUTH_TOKEN) and that the project (--project-id, "
            "HW_PROJECT_ID) and the region or endpoint (--region, --endpoint) are those of the keys' account"
        )
    return hints


def _job_ids(values: Sequence[str], parser: argparse.ArgumentParser) -> list[str]:
    ids: list[str] = []
    for value in values:
        for part in validate.split_ids(value):
            try:
                ids.append(validate.job_id(part))
            except GaussDBError as exc:
                parser.error(str(exc))
    if not ids:
        parser.error("no job id given")
    ids = list(dict.fromkeys(ids))
    if len(ids) > MAX_IDS_PER_CALL:
        parser.error(f"too many job ids ({len(ids)}); at most {MAX_IDS_PER_CALL} per call")
    return ids


def _emit(run: _Run, text: str) -> str | None:
    """Write the result on stdout; None when it arrived, else what went wrong."""
    out = run.out
    if out is None:
        return "stdout is closed"
    try:
        out.write(text + "\n")
        out.flush()
    except BrokenPipeError:
        # The reader had enough (`| head`): not our failure. Python would complain again when it flushes at exit.
        if out is sys.stdout:
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
            except (OSError, ValueError):
                pass
        return None
    except (OSError, ValueError) as exc:
        reason = os.strerror(exc.errno) if isinstance(exc, OSError) and exc.errno else str(exc)
        return f"stdout is closed ({reason})" if getattr(exc, "errno", None) == errno.EBADF else reason
    return None


def _show(run: _Run, args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    given = [name for name in WAIT_ONLY if hasattr(args, name)]
    if given:
        parser.error(f"--{given[0].replace('_', '-')} applies only to wait")
    job_id = _job_ids([args.job_id], parser)
    if len(job_id) != 1:
        parser.error("show takes one job id; use wait for several")
    client = run.client(args)
    try:
        job = client.get_job(job_id[0], retries=SHOW_RETRIES)
    except GaussDBError as exc:
        run.say(str(exc))
        for hint in _hints(client, [exc]):
            run.say(hint)
        return exit_codes.for_error(exc)
    problem = _emit(run, json.dumps(job.fields(), indent=2))
    if problem:
        run.say(f"could not write the job: {problem}")
        return ExitCode.API
    return ExitCode.COMPLETED


@dataclass
class _Result:
    entry: dict[str, Any]
    code: int
    error: BaseException | None = None


def _outcome_word(failure: Exception | None) -> str:
    """The status word the live board shows for a wait that ended without a final job status."""
    words = {JobNotFound: "NotFound", WaitTimeout: "TimedOut", AuthError: "Refused"}
    return next((word for kind, word in words.items() if isinstance(failure, kind)), "")


def _entry(job_id: str, job: Job | None, error: str | None) -> dict[str, Any]:
    fields = job.fields() if job is not None else dict.fromkeys(FIELD_NAMES[:-1]) | {"job_id": job_id}
    return {**fields, "error": error}


def _wait(
    run: _Run,
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    base_policy: Policy,
    cancel: threading.Event,
) -> int:
    ids = _job_ids(args.job_ids, parser)
    timeout: float = getattr(args, "timeout", DEFAULT_TIMEOUT)
    policy = replace(
        base_policy,
        not_found_grace=getattr(args, "not_found_grace", base_policy.not_found_grace),
        outage_limit=getattr(args, "outage_limit", base_policy.outage_limit),
    )
    client = run.client(args)
    # One budget for the run: the gateway throttles a tenant's request rate, so the rate is what is bounded, the
    # same whether 1 or 1000 jobs are waited for. (A cap on requests in flight bounds nothing against a fast API.)
    # The flag, else GAUSSDB_MAX_RATE, else the default; a budget of this run's own (a CLI run is one process).
    # `run` hands over the budget its operation request already used (one per process, as the README says).
    budget = getattr(args, "budget", None) or RequestBudget(
        getattr(args, "max_rate", None) or budget_module.max_rate({}, run.env), clock=SYSTEM_CLOCK
    )
    # The flag, else GAUSSDB_LIST_API, else auto: one list call a round for every job (docs/batch-reads.md).
    list_mode = list_api({}, run.env, getattr(args, "list_api", None))
    options = WaitOptions(
        timeout=timeout,
        policy=policy,
        accept_scheduled=getattr(args, "accept_scheduled", False),
        rng=random.Random(),
        cancel=cancel,
    )
    mode = "none" if getattr(args, "quiet", False) else getattr(args, "progress", "auto")
    display = make_display(
        mode,
        ids,
        run.err,
        term=run.env.get("TERM"),
        timeout=timeout,
        not_found_grace=policy.not_found_grace,
        outage_limit=policy.outage_limit,
        scrub=lambda text: redact(text, run.secrets),
        silence_notice=2.5 * policy.min_interval,
    )
    results: dict[str, _Result] = {}
    queued: set[str] = set()
    lock = threading.Lock()
    all_done = threading.Event()

    class Board(Hooks):
        def seen(self, job_id: str, job: Job) -> None:
            display.poll(job_id, job)

        def tolerated(self, job_id: str, error: GaussDBError) -> None:
            display.problem(job_id, error)

        def queued(self, job_id: str) -> None:
            queued.add(job_id)
            display.queued(job_id, budget.cap)

        def ended(self, job_id: str, result: WaitResult) -> None:
            failure = result.error
            error = str(failure) if failure is not None else None
            if error is not None and job_id not in error:
                error = f"job {job_id}: {error}"  # with several jobs, say which one
            error = redact(error, run.secrets) if error is not None else None
            code = exit_codes.for_error(failure) if failure is not None else ExitCode.COMPLETED
            with lock:
                results.setdefault(job_id, _Result(_entry(job_id, result.job, error), code, failure))
            try:
                display.finish(
                    job_id,
                    result.job,
                    error,
                    cancelled=isinstance(failure, WaitCancelled),
                    outcome=_outcome_word(failure),
                )
            except Exception:  # noqa: BLE001, S110 - the display must never cost a result
                pass

    crashed: list[BaseException] = []
    quiet = getattr(args, "quiet", False)

    def fallback(reason: str) -> None:
        """The one line said when the task center refuses its list call (``batch.reader_for``'s notice)."""
        if not quiet:
            display.note(
                f"{PROG}: {reason}; --list-api off ({LIST_API_ENV}=off) skips the list call, --list-api on makes "
                "its refusal an error"
            )

    reader = reader_for(client, budget, list_mode, notice=fallback, clock=budget.clock.now)

    def engine() -> None:
        try:
            wait_all(reader, ids, options, clock=budget.clock, hooks=Board())
        except Exception as exc:  # noqa: BLE001 - reported below as every unfinished job's error
            crashed.append(exc)
        finally:
            all_done.set()

    # The engine runs every job in one thread; this one keeps the board fresh and answers Ctrl-C at once, even
    # while a request is in flight (it is not waited for).
    waiter = threading.Thread(target=engine, name="gaussdb-job-wait", daemon=True)
    display.start()
    try:
        waiter.start()
        while not all_done.wait(0.2):
            display.tick()
            if cancel.is_set():
                all_done.wait(CANCEL_GRACE)
                break
    finally:
        with lock:
            final = dict(results)
        for job_id in ids:
            if job_id not in final:
                row = display.rows[job_id]
                if crashed and not cancel.is_set():
                    surprise = crashed[0]
                    message = f"job {job_id}: unexpected error: {type(surprise).__name__}: {surprise}"
                    final[job_id] = _Result(_entry(job_id, row.job, redact(message, run.secrets)), ExitCode.API)
                    display.finish(job_id, row.job, message)
                    continue
                message = str(WaitCancelled(job_id, row.job))
                final[job_id] = _Result(_entry(job_id, row.job, message), ExitCode.INTERRUPTED, None)
                display.finish(job_id, row.job, message, cancelled=True)
        messages = [
            f"{PROG}: {clean(redact(r.entry['error'], run.secrets), None)}"
            for r in (final[job_id] for job_id in ids)
            if r.entry["error"] is not None and not (cancel.is_set() and r.code == ExitCode.INTERRUPTED)
        ]
        messages += [f"{PROG}: {hint}" for hint in _hints(client, [r.error for r in final.values() if r.error])]
        if queued:
            messages.append(
                f"{PROG}: hint: {len(queued)} of {len(ids)} jobs waited for their turn in the request budget "
                f"(at most {budget.cap:g} per second for all jobs together): if the account's API gateway allows more, "
                f"raise it with --max-rate ({MAX_RATE_ENV})"
            )
        if cancel.is_set():
            messages.append(
                f"{PROG}: wait stopped; the jobs go on in the task center (see them with '{PROG} show JOB_ID')"
            )
        display.stop([redact(message, run.secrets) for message in messages])
    code = max(final[job_id].code for job_id in ids)
    problem = _emit(run, redact(json.dumps([final[job_id].entry for job_id in ids], indent=2), run.secrets))
    if problem:
        run.say(f"could not write the jobs: {problem}")
        # The result was not delivered: an API-level failure, unless the jobs' own code is worse (the usual
        # "highest code wins"), so a Failed job with a closed stdout exits ExitCode.API as docs/cli.md says.
        return max(code, ExitCode.API)
    return code


@contextlib.contextmanager
def _signals_cancel(cancel: threading.Event, stopped_by: list[signal.Signals]) -> Iterator[None]:
    """While waiting, SIGINT and SIGTERM set ``cancel`` (the waits sleep on it and end at once) instead of
    raising in the main thread; outside a wait (show, argument parsing) Ctrl-C interrupts as usual."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del frame
        stopped_by.append(signal.Signals(signum))
        cancel.set()

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():  # Python allows handlers only there
        for signum in SIGNAL_CODES:
            previous[signum] = signal.signal(signum, on_signal)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    policy: Policy | None = None,
    transport: Transport | None = None,
    cancel: threading.Event | None = None,
) -> int:
    """Run ``gaussdb-job`` with ``argv`` (default: the command line); returns the exit code.

    ``env``, ``stdout``, ``stderr`` default to the process's; ``policy`` and ``transport`` to the ones users get;
    ``cancel`` set from outside stops a wait as Ctrl-C does (SIGINT and SIGTERM set it when main runs in the main
    thread).
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    run = _Run(
        env=environ,
        out=sys.stdout if stdout is None else stdout,
        err=SafeStream(sys.stderr if stderr is None else stderr),
        transport=transport,
    )
    # A Cancel wakes the request budget's sleepers too, so a signal ends every sleep of the wait at once.
    cancel = cancel or Cancel()
    stopped_by: list[signal.Signals] = []
    parser = build_parser(run.out, run.err)
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
        command = parser.commands[args.command]
        if args.command == "show":
            code = _show(run, args, command)
        elif args.command == "run":
            with _signals_cancel(cancel, stopped_by):
                code = run_command.execute(run, args, command, policy or DEFAULT_POLICY, cancel, _wait)
        else:
            with _signals_cancel(cancel, stopped_by):
                code = _wait(run, args, command, policy or DEFAULT_POLICY, cancel)
    except _Exit as exc:
        code = exc.code
    except GaussDBError as exc:
        run.say(words.message(exc, words.CLI))  # the fix in the CLI's words: flags and environment variables
        code = exit_codes.for_error(exc)
    except KeyboardInterrupt:
        run.say("interrupted")
        code = ExitCode.INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the promise is one line, never a traceback
        run.say(f"unexpected error: {type(exc).__name__}: {exc}")
        code = ExitCode.API
    return SIGNAL_CODES.get(stopped_by[0], ExitCode.INTERRUPTED) if stopped_by else code


if __name__ == "__main__":
    sys.exit(main())
