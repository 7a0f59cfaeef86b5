"""A local record of the operations a plugin process has sent, for the failures partial state cannot cover.

Partial state (``partial_state``) needs the engine to receive the failed call's answer. When the plugin is stopped
while it waits (Ctrl-C in a terminal reaches the plugin too: its SIGINT handler stops the gRPC server at once;
``kill -9``), no answer arrives, the engine records nothing, and the next ``pulumi up`` calls Create again. The
journal makes that Create resume instead of starting the operation a second time: one small JSON file per
operation, written *before* the request is sent (``sending``) and again when it is accepted (its job id), removed
when the create or update completes, when the resource is deleted, or after ``MAX_AGE`` (jobs are queryable for a
month: CONTRACT.md).

The key is what the operation is (project directory, endpoint, project, instance, operation, parameters,
triggers), hashed: the file name shows none of it. A record holds only when the request was sent, the job id and
what the operation answered (node names, backup, ``restart_required``, an order id), as scrubbed by the client:
never a credential nor a parameter value. The directory is ``GAUSSDB_JOURNAL_DIR``, else
``$XDG_STATE_HOME/gaussdb-job/operations``, else ``~/.local/state/gaussdb-job/operations`` (created 0700, files
0600): it covers runs on this machine only.

A journal that cannot be written *before* the request is sent refuses the operation (the caller says so, naming
``GAUSSDB_JOURNAL_DIR``): without the record, a run stopped mid-wait would start it again. Once the request is
sent, a failed write only costs that protection (the state keeps the job id) and the caller says so in one line.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DIR_ENV = "GAUSSDB_JOURNAL_DIR"
MAX_AGE = 31 * 24 * 3600.0


@dataclass(frozen=True)
class Entry:
    requested_at: str
    job_id: str | None = None
    answer: dict[str, Any] = field(default_factory=dict)
    written: float = 0.0


def directory(env: Mapping[str, str] | None = None) -> Path:
    """Raises OSError when there is no directory to use (no variable set and no home directory)."""
    env = os.environ if env is None else env
    if env.get(DIR_ENV):
        return Path(env[DIR_ENV])
    if env.get("XDG_STATE_HOME"):
        return Path(env["XDG_STATE_HOME"]) / "gaussdb-job" / "operations"
    try:
        home = Path.home()
    except RuntimeError:
        raise OSError(errno.ENOENT, "no home directory for the journal", "~") from None
    return home / ".local" / "state" / "gaussdb-job" / "operations"


def why(exc: OSError) -> str:
    """One line for a failed journal write: what failed, where."""
    what = exc.strerror or type(exc).__name__
    return f"{what}: {exc.filename}" if exc.filename else what


def key(props: Mapping[str, Any]) -> str:
    """What the operation is, as a file name: the same inputs in the same project directory give the same key."""
    identity = {
        "cwd": os.getcwd(),
        **{name: props.get(name) for name in ("endpoint", "project_id", "instance_id", "operation")},
        "parameters": props.get("parameters") or {},
        "triggers": props.get("triggers") or [],
    }
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def read(name: str) -> Entry | None:
    try:
        data = json.loads((directory() / f"{name}.json").read_text())
        entry = Entry(**data)
    except (OSError, ValueError, TypeError):
        return None
    if time.time() - entry.written > MAX_AGE:
        remove(name)
        return None
    return entry


def write(name: str, entry: Entry) -> None:
    """Durably (fsync, atomic rename): the record must exist before the request it describes is sent."""
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = json.dumps({**asdict(entry), "written": time.time()}, default=str)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, folder / f"{name}.json")
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def remove(name: str) -> None:
    try:
        (directory() / f"{name}.json").unlink(missing_ok=True)
    except OSError:
        pass
