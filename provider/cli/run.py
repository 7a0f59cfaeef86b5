"""``gaussdb-job run OPERATION INSTANCE_ID [--set key=value ...] [--no-wait]``: start an operation once, then wait
for its job exactly as ``wait`` does (same progress, exit codes and JSON, each entry with an ``operation`` key
more: the operation, the instance and what the operation answered).

``main`` owns the parser and the wait; this module adds the command and runs it with the wait it is given. One
request budget serves the operation request, the list call that may look for its job, and the wait (handed over
as ``budget``); ``--timeout`` is one deadline for waiting out a busy instance and then waiting for the job.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from provider.cli import exit_codes
from provider.cli.exit_codes import ExitCode
from provider.core.errors import GaussDBError
from provider.taskcenter.models import OUTPUT_FIELDS
from provider.taskcenter.operations import (
    ANSWER_FIELDS,
    OPERATIONS,
    OperationOrdered,
    Started,
    lookup,
    operation_client_for,
)
from provider.waiting import budget as budget_module
from provider.waiting.budget import RequestBudget
from provider.waiting.policy import DEFAULT_TIMEOUT, Policy, next_delay

EXAMPLES = """\
examples:
  gaussdb-job run restart 0b0a9e3f2c5d4b1e8f7a6c5d4e3f2a1bin07
  gaussdb-job run resize-flavor ID --set spec_code=gaussdb.mysql.2xlarge.x86.8 --timeout 1h
  gaussdb-job run add-read-replicas ID --set priorities=[1,1]
  gaussdb-job run modify-parameters ID --set max_connections=500 --set innodb_lock_wait_timeout=60
  gaussdb-job run backup ID --set name=before-upgrade --no-wait
"""
DESCRIPTION = (
    "Start a GaussDB (for MySQL) / TaurusDB operation once and wait for its job (as 'wait' does). While another "
    "operation runs on the instance the API answers 409: the request is sent again when it can be accepted, "
    "within --timeout. A request whose answer was lost is never sent again: the error says how to adopt its job."
)

# Seconds the job is still waited for when starting the operation used the whole --timeout: time for one read of
# the job, so that the JSON shows it (a choice, not a measured figure).
LAST_LOOK = 1.0
# The clock of the run's deadline (a module attribute, so a test can stand in for it).
_now = time.monotonic

Wait = Callable[[Any, argparse.Namespace, argparse.ArgumentParser, Policy, threading.Event], int]


def add_parser(
    sub: Any, common: dict[str, Any], add_flags: Callable[[argparse.ArgumentParser], None]
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "run",
        help="start an operation on an instance and wait for its job",
        usage="gaussdb-job run OPERATION INSTANCE_ID [--set key=value ...] [--no-wait] [flags]",
        description=DESCRIPTION,
        epilog="operations and their parameters:\n"
        + "\n".join(f"  {name:20} {', '.join(op.params.model_fields) or '(none)'}" for name, op in OPERATIONS.items())
        + "\n\n"
        + EXAMPLES,
        **common,
    )
    parser.add_argument("operation", metavar="OPERATION", choices=list(OPERATIONS), help=", ".join(OPERATIONS))
    parser.add_argument("instance_id", metavar="INSTANCE_ID", help="the DB instance id")
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter of the operation (JSON values allowed: priorities=[1,1]); for modify-parameters any "
        "other key is a database parameter",
    )
    parser.add_argument("--no-wait", action="store_true", help='print {"job_id": ...} at once, do not wait')
    add_flags(parser)
    return parser


def parameters(operation: str, pairs: Sequence[str], parser: argparse.ArgumentParser) -> dict[str, Any]:
    """``--set`` pairs as the operation's parameters: text for text fields, JSON where it parses otherwise."""
    fields = lookup(operation).params.model_fields
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            parser.error(f"--set {pair!r}: expected KEY=VALUE")
        if key not in fields and operation == "modify-parameters":
            result.setdefault("parameter_values", {})[key] = raw
            continue
        field = fields.get(key)
        if field is not None and field.annotation in (str, str | None):
            result[key] = raw
            continue
        try:
            result[key] = json.loads(raw)
        except ValueError:
            result[key] = raw
    return result


def execute(
    run: Any,
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    policy: Policy,
    cancel: threading.Event,
    wait: Wait,
) -> int:
    """Start the operation, then ``wait`` for its job; returns the exit code."""
    params = parameters(args.operation, args.settings, parser)
    timeout: float = getattr(args, "timeout", DEFAULT_TIMEOUT)
    names = ("project_id", "region", "endpoint", "api_path", "service")
    overrides = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    budget = RequestBudget(getattr(args, "max_rate", None) or budget_module.max_rate({}, run.env))
    rng = random.Random()
    client = operation_client_for(
        overrides,
        {},
        run.env,
        transport=run.transport,
        pacer=budget,
        # While the instance is busy, sent again on the wait's own schedule (2 s growing to 30 s by default).
        delay=lambda elapsed: next_delay(policy, elapsed, rng=rng),
    )
    deadline = _now() + timeout
    info: dict[str, Any] = {"name": args.operation, "instance_id": args.instance_id}
    try:
        started = client.start(args.operation, args.instance_id, params, timeout=timeout, cancel=cancel)
    except GaussDBError as exc:
        run.say(str(exc))
        if isinstance(exc, OperationOrdered):
            info = _info(Started(args.operation, args.instance_id, "", exc.answer))
        entry = {**dict.fromkeys(OUTPUT_FIELDS), "error": str(exc), "operation": info}
        _emit(run, json.dumps([entry], indent=2))
        return exit_codes.for_error(exc)
    finally:
        client.close()
    info = _info(started)
    quiet = getattr(args, "quiet", False) or getattr(args, "progress", "auto") == "none"
    if not quiet:
        how = "adopted (its answer was lost)" if started.adopted else "started"
        run.say(f"{args.operation} of instance {started.instance_id} {how}: job {started.job_id}")
    if args.no_wait:
        _emit(run, json.dumps({"job_id": started.job_id, "operation": info}, indent=2))
        return ExitCode.COMPLETED
    waited = argparse.Namespace(**vars(args))
    waited.job_ids = [started.job_id]
    waited.timeout = max(deadline - _now(), LAST_LOOK)
    waited.budget = budget
    captured = io.StringIO()
    code = wait(dataclasses.replace(run, out=captured), waited, parser, policy, cancel)
    try:
        entries = json.loads(captured.getvalue())
        for entry in entries:
            entry["operation"] = info
        text = json.dumps(entries, indent=2)
    except (ValueError, TypeError, AttributeError):
        text = captured.getvalue().rstrip("\n")
    if text:
        _emit(run, text)
    return code


def _info(started: Started) -> dict[str, Any]:
    return {
        "name": started.operation,
        "instance_id": started.instance_id,
        "adopted": started.adopted,
        **{key: started.answer.get(key) for key in ANSWER_FIELDS if key != "instance_id"},
    }


def _emit(run: Any, text: str) -> None:
    out = run.out
    if out is None:
        return
    try:
        out.write(text + "\n")
        out.flush()
    except (OSError, ValueError):
        run.say("could not write the result on stdout")
