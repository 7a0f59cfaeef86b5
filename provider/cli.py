"""``gaussdb-job``: show a task-center job, or wait for jobs, from a shell or a Terraform local-exec.

Exit codes: 0 all Completed; 1 a job Failed; 2 usage or configuration error; 3 timed out; 4 job not found;
5 credentials refused; 6 API or network error that persisted. Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, NoReturn

from provider import validate
from provider.client import TaskCenterClient
from provider.compose import client_for
from provider.credentials import redact, secret_values
from provider.errors import ConfigError, GaussDBError, JobFailed, WaitTimeout
from provider.models import Job
from provider.progress import ProgressReporter
from provider.waiter import DEFAULT_POLICY, wait_for_job

# Requests in flight at once, whatever the number of jobs: the gateway throttles per tenant.
MAX_CONCURRENT_REQUESTS = 16
MAX_JOBS = 1000


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gaussdb-job",
        description="Show or wait for GaussDB (for MySQL) task-center jobs. "
        "Credentials come only from the environment (HW_ACCESS_KEY/HW_SECRET_KEY, HW_AUTH_TOKEN, "
        "or HW_USER_NAME/HW_PASSWORD/HW_DOMAIN_NAME).",
    )
    common = _Parser(add_help=False)
    common.add_argument("--project-id", help="project ID (default: HW_PROJECT_ID)")
    common.add_argument("--region", help="region, to derive the endpoint (default: HW_REGION_NAME)")
    common.add_argument("--endpoint", help="API base URL (default: GAUSSDB_ENDPOINT, or derived from the region)")
    common.add_argument("--api-path", help="API path prefix (default: GAUSSDB_API_PATH or /mysql/v3)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    show = sub.add_parser("show", parents=[common], help="print one job as a JSON object")
    show.add_argument("job_id", metavar="JOB_ID")
    wait = sub.add_parser("wait", parents=[common], help="wait for jobs; print them as a JSON list")
    wait.add_argument("job_ids", metavar="JOB_ID", nargs="+")
    wait.add_argument("--timeout", default="3600", help="seconds to wait for all jobs (default 3600)")
    wait.add_argument(
        "--not-found-grace",
        default=str(DEFAULT_POLICY.not_found_grace),
        help="seconds a job may be unknown before it counts as not found (default 60)",
    )
    wait.add_argument(
        "--outage-limit",
        default=str(DEFAULT_POLICY.outage_limit),
        help="seconds throttling, 5xx or network errors may persist before giving up (default 120)",
    )
    return parser


def _client(args: argparse.Namespace) -> TaskCenterClient:
    overrides = {
        "project_id": args.project_id,
        "region": args.region,
        "endpoint": args.endpoint,
        "api_path": args.api_path,
    }
    return client_for(overrides, {}, os.environ)


def _fail(message: str, code: int) -> int:
    print(f"gaussdb-job: {redact(message, secret_values({}, os.environ))}", file=sys.stderr)
    return code


def _seconds(value: str, flag: str) -> float:
    """Checked like --timeout, except that 0 is allowed: no grace, or give up at the first lasting error."""
    try:
        if float(value) == 0:
            return 0.0
    except ValueError:
        pass  # validate.timeout says what is wrong with it
    return validate.timeout(value, flag)


def _show(args: argparse.Namespace) -> int:
    job_id = validate.job_id(args.job_id)
    job = _client(args).get_job(job_id)
    print(json.dumps(job.fields(), indent=2))
    return 0


def _wait(args: argparse.Namespace) -> int:
    ids = list(dict.fromkeys(validate.job_id(j) for j in args.job_ids))
    if len(ids) > MAX_JOBS:
        raise ConfigError(f"too many job ids ({len(ids)}); at most {MAX_JOBS} per call")
    timeout = validate.timeout(args.timeout)
    policy = replace(
        DEFAULT_POLICY,
        not_found_grace=_seconds(args.not_found_grace, "--not-found-grace"),
        outage_limit=_seconds(args.outage_limit, "--outage-limit"),
    )
    client = _client(args)
    reporter = ProgressReporter(ids)
    gate = threading.Semaphore(MAX_CONCURRENT_REQUESTS)

    def one(job_id: str) -> tuple[dict[str, Any], int]:
        def fetch() -> Job:
            with gate:
                return client.get_job(job_id)

        try:
            job = wait_for_job(
                fetch, timeout=timeout, policy=policy, on_poll=reporter.update, job_id=job_id, rng=random.Random()
            )
            return job.fields(), 0
        except JobFailed as exc:
            _fail(str(exc), exc.exit_code)
            return {**exc.job.fields(), "error": str(exc)}, exc.exit_code
        except WaitTimeout as exc:
            _fail(str(exc), exc.exit_code)
            fields = exc.last.fields() if exc.last else {"job_id": job_id}
            return {**fields, "error": str(exc)}, exc.exit_code
        except GaussDBError as exc:
            _fail(str(exc), exc.exit_code)
            return {"job_id": job_id, "error": str(exc)}, exc.exit_code

    # One thread per job keeps every wait on its own schedule; the semaphore bounds the requests.
    with ThreadPoolExecutor(max_workers=len(ids), thread_name_prefix="wait") as pool:
        results = list(pool.map(one, ids))
    secrets = secret_values({}, os.environ)
    print(redact(json.dumps([fields for fields, _ in results], indent=2), secrets))
    return max(code for _, code in results)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _show(args) if args.command == "show" else _wait(args)
    except GaussDBError as exc:
        return _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except Exception as exc:  # noqa: BLE001 - the promise is one line, never a traceback
        return _fail(f"unexpected error: {type(exc).__name__}: {exc}", 6)


if __name__ == "__main__":
    sys.exit(main())
