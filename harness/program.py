"""Run the example stack (the root ``__main__.py``) in-process with Pulumi's official mocks.

``pulumi.runtime.set_mocks`` replaces the engine's resource monitor; ``PluginMocks`` answers each dynamic
resource the way ``pulumi up`` would, by sending its inputs (``__provider`` included) to the real dynamic-provider
plugin process: Check, then Create, which for ``GaussDBJob`` blocks until the job is done. ``RecordingMonitor``
keeps what the program registered, dependencies included (the mocks' own arguments omit them), for tests.
"""

from __future__ import annotations

import contextvars
import runpy
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks

from harness.plugin import PROVIDER_KEY, PluginProcess

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "__main__.py"
PROJECT = "gaussdb-job-demo"
DYNAMIC_PREFIX = "pulumi-python:dynamic"


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    outputs: dict[str, Any] = field(default_factory=dict)
    id: str = ""


class RecordingMonitor(MockMonitor):
    """The official mock monitor, keeping each registration with its dependencies."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.registrations: dict[str, Registration] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            urn = self.make_urn(request.parent, request.type, request.name)
            self.registrations[request.name] = Registration(
                type=request.type,
                name=request.name,
                urn=urn,
                inputs=_unwrap(rpc.deserialize_properties(request.object)),
                dependencies=list(request.dependencies),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                outputs=dict(self.resources[urn].state) if urn in self.resources else {},
                id=response.id,
            )
        return response


def _unwrap(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: rpc.unwrap_rpc_secret(v) for k, v in props.items()}


class PluginMocks(Mocks):
    """Dynamic resources go to the real plugin (Check, then Create); anything else echoes its inputs."""

    def __init__(
        self,
        plugin: PluginProcess,
        *,
        stack: str,
        project: str = PROJECT,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.plugin = plugin
        self.stack = stack
        self.project = project
        self.say = say or (lambda _text: None)

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = _unwrap(args.inputs)
        if not args.typ.startswith(DYNAMIC_PREFIX) or PROVIDER_KEY not in inputs:
            return f"{args.name}-id", inputs
        urn = f"urn:pulumi:{self.stack}::{self.project}::{args.typ}::{args.name}"
        checked = self.plugin.check(urn, {}, inputs)
        if checked.failures:
            problems = "; ".join(f"{prop or args.name}: {reason}" for prop, reason in checked.failures)
            raise RuntimeError(f"{args.typ} {args.name!r} failed its check: {problems}")
        self.say(f"+ {args.typ}::{args.name}: creating...")
        started = time.monotonic()
        id_, outputs = self.plugin.create(urn, checked.inputs)
        outputs.pop(PROVIDER_KEY, None)
        self.say(f"+ {args.typ}::{args.name}: created ({time.monotonic() - started:.1f}s) id={id_}")
        return id_, outputs

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def run_program(
    mocks: Mocks,
    config: Mapping[str, str],
    *,
    secret_keys: Iterable[str] = (),
    stack: str = "dev",
    project: str = PROJECT,
    program: Path = PROGRAM,
    preview: bool = False,
) -> tuple[dict[str, Any], RecordingMonitor]:
    """Run ``program`` as ``pulumi up`` would run it, under ``mocks``; returns its stack outputs, resolved, and
    the monitor that recorded every registration. Runs in a fresh context, so runs do not see each other."""
    monitor = RecordingMonitor(mocks)
    outputs: dict[str, Any] = {}

    def run() -> None:
        from pulumi.runtime import settings

        settings.ROOT.set(None)  # a new root stack for this run
        pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
        pulumi.runtime.set_all_config(dict(config), list(secret_keys))
        if str(program.parent) not in sys.path:
            sys.path.insert(0, str(program.parent))  # as the language host does: the project dir imports

        @pulumi.runtime.test  # type: ignore[untyped-decorator]
        def execute() -> pulumi.Output[Any]:
            runpy.run_path(str(program), run_name="__main__")
            stack_resource = settings.get_root_resource()
            exported = dict(getattr(stack_resource, "outputs", {}))
            return pulumi.Output.all(**exported).apply(outputs.update)

        execute()

    contextvars.copy_context().run(run)
    return outputs, monitor
