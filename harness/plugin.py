"""Play the Pulumi engine's part against the real dynamic-provider plugin.

``pulumi up`` starts ``python -u -m pulumi.dynamic`` with the project directory as working directory, reads the
gRPC port the plugin prints on stdout, calls ``Configure`` with the stack configuration, then ``Check``,
``Diff``, ``Create``, ``Read``, ``Update`` and ``Delete`` with properties serialized by
``pulumi.runtime.rpc``. ``PluginProcess`` does the same, so tests and the demo exercise exactly the code path
the engine does, without the Pulumi CLI.

What the engine sends, and so what the methods here take:
- ``check(urn, olds, news)``: ``olds`` are the last *inputs*, ``news`` the program's inputs including the
  ``__provider`` string the program serialized;
- ``diff``/``update``: ``olds`` are the last *outputs* (``old_inputs`` are sent alongside);
- ``create``: the checked inputs; ``read``/``delete``: the last outputs.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import grpc
from pulumi.runtime import proto, rpc
from pulumi.runtime.proto import provider_pb2_grpc

PROVIDER_KEY = "__provider"
DEFAULT_START_TIMEOUT = 30.0


class PluginError(Exception):
    """A call the plugin answered with a gRPC error; ``details`` is what the engine would show the user."""

    def __init__(self, method: str, code: grpc.StatusCode, details: str) -> None:
        self.method = method
        self.code = code
        self.details = details
        super().__init__(f"{method} failed ({code.name}): {self.last_line}")

    @property
    def last_line(self) -> str:
        lines = [line for line in self.details.strip().splitlines() if line.strip()]
        return lines[-1] if lines else ""


@dataclass
class CheckResult:
    inputs: dict[str, Any]
    failures: list[tuple[str, str]]


@dataclass
class DiffResult:
    changes: str  # "DIFF_SOME", "DIFF_NONE" or "DIFF_UNKNOWN"
    replaces: list[str] = field(default_factory=list)
    delete_before_replace: bool = False

    @property
    def replace(self) -> bool:
        return bool(self.replaces)


@dataclass
class ReadResult:
    id: str
    outputs: dict[str, Any]
    inputs: dict[str, Any] | None


def serialize_provider(provider: Any) -> str:
    """The ``__provider`` string a program would send for this provider object (dill, base64)."""
    from pulumi.dynamic.dynamic import serialize_provider as _serialize

    return str(_serialize(provider))


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run on a private loop: this may be called from a thread whose own loop must stay as it is (the mock
    monitor's), or, in a thread whose loop is running, from a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(coroutine)
        finally:
            loop.close()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_run, coroutine).result()


def _serialize(props: Mapping[str, Any]) -> Any:
    return _run(rpc.serialize_properties(dict(props), {}))


def _deserialize(struct: Any, keep_unknowns: bool = False) -> dict[str, Any]:
    value = rpc.deserialize_properties(struct, keep_unknowns)
    return dict(value) if isinstance(value, dict) else {}


def _config_struct(config: Mapping[str, Any], secret_keys: Iterable[str]) -> Any:
    """Stack config as the engine sends it to a dynamic provider: namespaced keys, secrets marked as such."""
    secrets = set(secret_keys)
    plain = {k: v for k, v in config.items() if k not in secrets}
    struct = _serialize(plain)
    for key in secrets & set(config):
        struct[key] = {rpc._special_sig_key: rpc._special_secret_sig, "value": config[key]}
    return struct


class PluginProcess:
    """One ``python -u -m pulumi.dynamic`` process and a gRPC stub to it; a context manager.

    ``cwd`` is the plugin's working directory (the engine uses the project directory); ``pythonpath`` entries
    are prepended to ``PYTHONPATH`` (for modules that are neither installed nor under ``cwd``); ``env``
    replaces the environment (default: this process's). Every line the plugin writes to stderr is kept
    (``stderr_text()``) and, if ``on_stderr`` is given, passed to it as it arrives.
    """

    def __init__(
        self,
        cwd: str | os.PathLike[str],
        *,
        env: Mapping[str, str] | None = None,
        pythonpath: Iterable[str | os.PathLike[str]] = (),
        python: str = sys.executable,
        on_stderr: Callable[[str], None] | None = None,
        default_provider: str | None = None,
        start_timeout: float = DEFAULT_START_TIMEOUT,
    ) -> None:
        self.cwd = Path(cwd)
        environment = dict(os.environ if env is None else env)
        extra = [str(p) for p in pythonpath]
        if extra:
            existing = environment.get("PYTHONPATH")
            environment["PYTHONPATH"] = os.pathsep.join(extra + ([existing] if existing else []))
        self._env = environment
        self._python = python
        self._on_stderr = on_stderr
        self._start_timeout = start_timeout
        self.default_provider = default_provider
        self._stderr_lines: list[str] = []
        self._stdout_extra: list[str] = []
        self._lock = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: grpc.Channel | None = None
        self._stub: Any = None
        self.port: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> PluginProcess:
        if self._process is not None:
            raise RuntimeError("the plugin is already running")
        self._process = subprocess.Popen(
            [self._python, "-u", "-m", "pulumi.dynamic"],
            cwd=self.cwd,
            env=self._env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self._process.stdout is not None and self._process.stderr is not None
        self._pump(self._process.stderr, self._keep_stderr, "plugin-stderr")
        try:
            self.port = self._read_port(self._process.stdout, self._start_timeout)
            self._pump(self._process.stdout, self._stdout_extra.append, "plugin-stdout")
            self._channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
            grpc.channel_ready_future(self._channel).result(timeout=self._start_timeout)
        except BaseException:
            self.stop()
            raise
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)
        return self

    def _read_port(self, stream: IO[bytes], timeout: float) -> int:
        """The first stdout line is the port; read it with a deadline rather than block on a dead plugin."""
        deadline = time.monotonic() + timeout
        buffer = b""
        fd = stream.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RuntimeError(f"the plugin printed no port within {timeout:g} s{self._stderr_tail()}")
                if not selector.select(remaining):
                    continue
                chunk = os.read(fd, 1)  # byte by byte: nothing after the newline is taken from the pipe
                if not chunk:
                    self._join_pumps(1.0)
                    raise RuntimeError(f"the plugin exited before printing its port{self._stderr_tail()}")
                buffer += chunk
        line = buffer.decode("utf-8", "replace").strip()
        if not line.isdigit():
            raise RuntimeError(f"unexpected first line from the plugin: {line!r}{self._stderr_tail()}")
        return int(line)

    def _pump(self, stream: IO[bytes], sink: Callable[[str], None], name: str) -> None:
        def run() -> None:
            for raw in iter(stream.readline, b""):
                sink(raw.decode("utf-8", "replace").rstrip("\r\n"))

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _keep_stderr(self, line: str) -> None:
        with self._lock:
            self._stderr_lines.append(line)
            self._lock.notify_all()
        if self._on_stderr is not None:
            self._on_stderr(line)

    def _join_pumps(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _stderr_tail(self) -> str:
        lines = self.stderr_lines()[-20:]
        return (":\n" + "\n".join(lines)) if lines else ""

    def stop(self, timeout: float = 5.0) -> int | None:
        """Interrupt the plugin (it stops its server on Ctrl-C), kill it if it lingers; returns its exit code."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        self._join_pumps(timeout)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        return process.returncode

    def __enter__(self) -> PluginProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def stderr_lines(self) -> list[str]:
        with self._lock:
            return list(self._stderr_lines)

    def wait_for_stderr(self, ready: Callable[[list[str]], bool], timeout: float = 10.0) -> list[str]:
        """The stderr lines once ``ready`` holds for them: what the plugin printed before a call returned may
        still be in the pipe when the call's answer arrives. Raises TimeoutError after ``timeout`` seconds."""
        with self._lock:
            if not self._lock.wait_for(lambda: ready(self._stderr_lines), timeout):
                raise TimeoutError(f"the plugin did not print what was expected{self._stderr_tail_locked()}")
            return list(self._stderr_lines)

    def _stderr_tail_locked(self) -> str:
        lines = self._stderr_lines[-20:]
        return (":\n" + "\n".join(lines)) if lines else ""

    def stderr_text(self) -> str:
        return "\n".join(self.stderr_lines())

    def stdout_text(self) -> str:
        """What the plugin printed on stdout after its port line (it should print nothing)."""
        return "\n".join(self._stdout_extra)

    # -- the provider protocol ---------------------------------------------------------------------------

    def _call(self, method: str, request: Any, timeout: float | None) -> Any:
        if self._stub is None:
            raise RuntimeError("the plugin is not running")
        try:
            return getattr(self._stub, method)(request, timeout=timeout)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
            details = exc.details() if hasattr(exc, "details") else str(exc)
            raise PluginError(method, code, details or "") from None

    def _with_provider(self, props: Mapping[str, Any]) -> dict[str, Any]:
        props = dict(props)
        if PROVIDER_KEY not in props:
            if self.default_provider is None:
                raise ValueError(f"properties need {PROVIDER_KEY!r} (or give the harness a default_provider)")
            props[PROVIDER_KEY] = self.default_provider
        return props

    def configure(
        self, config: Mapping[str, Any], *, secret_keys: Iterable[str] = (), timeout: float | None = 30.0
    ) -> None:
        """The stack configuration, namespaced (``gaussdb:accessKey``); ``secret_keys`` are sent as secrets."""
        request = proto.ConfigureRequest(
            args=_config_struct(config, secret_keys),
            variables={k: str(v) for k, v in config.items()},
            acceptSecrets=True,
            acceptResources=True,
        )
        self._call("Configure", request, timeout)

    def check(
        self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any], *, timeout: float | None = 60.0
    ) -> CheckResult:
        request = proto.CheckRequest(
            urn=urn,
            olds=_serialize(self._with_provider(olds) if olds else {}),
            news=_serialize(self._with_provider(news)),
        )
        response = self._call("Check", request, timeout)
        return CheckResult(
            inputs=_deserialize(response.inputs, keep_unknowns=True),
            failures=[(f.property, f.reason) for f in response.failures],
        )

    def diff(
        self,
        urn: str,
        id_: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        *,
        old_inputs: Mapping[str, Any] | None = None,
        timeout: float | None = 60.0,
    ) -> DiffResult:
        request = proto.DiffRequest(
            id=id_,
            urn=urn,
            olds=_serialize(self._with_provider(olds)),
            news=_serialize(self._with_provider(news)),
            old_inputs=_serialize(self._with_provider(old_inputs)) if old_inputs is not None else None,
        )
        response = self._call("Diff", request, timeout)
        return DiffResult(
            changes=proto.DiffResponse.DiffChanges.Name(response.changes),
            replaces=list(response.replaces),
            delete_before_replace=response.deleteBeforeReplace,
        )

    def create(self, urn: str, props: Mapping[str, Any], *, timeout: float | None = None) -> tuple[str, dict[str, Any]]:
        """Blocks as long as the provider's create does; ``timeout`` is a client-side gRPC deadline only."""
        request = proto.CreateRequest(urn=urn, properties=_serialize(self._with_provider(props)))
        response = self._call("Create", request, timeout)
        return response.id, _deserialize(response.properties)

    def read(
        self,
        urn: str,
        id_: str,
        props: Mapping[str, Any],
        *,
        inputs: Mapping[str, Any] | None = None,
        timeout: float | None = 120.0,
    ) -> ReadResult:
        request = proto.ReadRequest(
            id=id_,
            urn=urn,
            properties=_serialize(self._with_provider(props)),
            inputs=_serialize(self._with_provider(inputs)) if inputs is not None else None,
        )
        response = self._call("Read", request, timeout)
        return ReadResult(
            id=response.id,
            outputs=_deserialize(response.properties),
            inputs=_deserialize(response.inputs) if response.HasField("inputs") else None,
        )

    def update(
        self,
        urn: str,
        id_: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        *,
        old_inputs: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        request = proto.UpdateRequest(
            id=id_,
            urn=urn,
            olds=_serialize(self._with_provider(olds)),
            news=_serialize(self._with_provider(news)),
            old_inputs=_serialize(self._with_provider(old_inputs)) if old_inputs is not None else None,
        )
        response = self._call("Update", request, timeout)
        return _deserialize(response.properties)

    def delete(self, urn: str, id_: str, props: Mapping[str, Any], *, timeout: float | None = 120.0) -> None:
        request = proto.DeleteRequest(id=id_, urn=urn, properties=_serialize(self._with_provider(props)))
        self._call("Delete", request, timeout)


def urn_for(type_: str, name: str, *, stack: str = "dev", project: str = "gaussdb-job-demo") -> str:
    """A URN as the engine builds it for a top-level resource of a stack."""
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"
