"""Partial state from the Python dynamic-provider plugin: a Create or Update that fails after its cloud effect
began leaves its id and properties in the stack's state.

The provider protocol has the means: a failed Create/Update whose gRPC status details carry a
``pulumirpc.ErrorResourceInitFailed`` {id, properties, reasons, inputs} makes the engine record the resource with
those properties and, on the next ``pulumi up``, call Update on it ("continue awaiting initialization"; the
engine's ``parseError`` in ``sdk/go/common/resource/plugin/provider_plugin.go``). The Python plugin (pulumi 3.272,
``pulumi/dynamic/__main__.py``) never sends it: its ``_abort_with_traceback`` aborts with the traceback text only.

``install()`` fills the gap in the plugin process. ``DynamicResourceProviderServicer.Create`` and ``.Update`` are
``_abort_with_traceback`` wrappers whose closure cell ``fn`` holds the real method; the cell is rebound to a
function that calls it and, when it raises ``ResourceInitFailed``, answers the call with status UNKNOWN, the
message as details and the ``ErrorResourceInitFailed`` in ``grpc-status-details-bin`` (set on the context and
returned, so the wrapper never sees an exception). The wrapper functions themselves stay in place: grpc holds
bound methods of them from the start, and ``plugin_pool`` has set its pool attribute on them.

What it relies on is checked first; when a check fails nothing is changed and ``installed()`` stays False, which a
provider must treat as "partial state unavailable" (``GaussDBOperation`` then refuses to start an operation).
"""

from __future__ import annotations

import asyncio
import sys
import threading
import types
from collections.abc import Callable, Mapping
from typing import Any

from provider.core.sanitize import clean

PLUGIN_MODULE = "pulumi.dynamic.__main__"
PROVIDER_KEY = "__provider"
STATUS_DETAILS = "grpc-status-details-bin"
PATCHED = ("Create", "Update")

_lock = threading.Lock()
_installed: bool | None = None
# Set while a call runs through the patched Create/Update (on that call's thread).
_local = threading.local()


class ResourceInitFailed(Exception):
    """Raised by a provider's create/update: the call failed, but the resource exists with these properties."""

    def __init__(self, message: str, resource_id: str, properties: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.resource_id = resource_id
        self.properties = dict(properties)


def in_plugin() -> bool:
    main = sys.modules.get("__main__")
    return getattr(getattr(main, "__spec__", None), "name", None) == PLUGIN_MODULE


def installed() -> bool:
    """True once the plugin answers ResourceInitFailed with partial state."""
    return bool(_installed)


def reporting() -> bool:
    """True when the call running on this thread will answer ResourceInitFailed with partial state (a call that
    was already running when ``install`` patched the plugin will not)."""
    return bool(getattr(_local, "reporting", False))


def install() -> bool:
    """Patch the plugin's Create and Update once per process; False outside the plugin or when the plugin is not
    as expected (one line on stderr says why)."""
    global _installed
    with _lock:
        if _installed is not None:
            return _installed
        _installed = False
        if not in_plugin():
            return False
        try:
            cells = _cells()
            for name, cell in cells.items():
                cell.cell_contents = _reporting(cell.cell_contents, name)
        except Exception as exc:  # noqa: BLE001 - anything unexpected: leave the plugin as it is, say so
            why = clean(str(exc) or type(exc).__name__, 200)
            print(f"gaussdb-job: partial state unavailable in this plugin ({why})", file=sys.stderr, flush=True)
            return False
        _installed = True
        return True


def _cells() -> dict[str, Any]:
    main = sys.modules.get("__main__")
    servicer = getattr(main, "DynamicResourceProviderServicer", None)
    if not isinstance(servicer, type):
        raise RuntimeError(f"{PLUGIN_MODULE} has no DynamicResourceProviderServicer class")
    cells = {}
    for name in PATCHED:
        wrapper = servicer.__dict__.get(name)
        if not isinstance(wrapper, types.FunctionType) or wrapper.__code__.co_freevars != ("fn",):
            raise RuntimeError(f"DynamicResourceProviderServicer.{name} is not the expected wrapper")
        cell = wrapper.__closure__[0]  # type: ignore[index]
        if not isinstance(cell.cell_contents, types.FunctionType) or cell.cell_contents.__name__ != name:
            raise RuntimeError(f"DynamicResourceProviderServicer.{name} wraps something unexpected")
        cells[name] = cell
    return cells


def _reporting(method: Callable[..., Any], name: str) -> Callable[..., Any]:
    def call(self: Any, request: Any, context: Any) -> Any:
        _local.reporting = True
        try:
            return method(self, request, context)
        except ResourceInitFailed as failed:
            return _answer_partial(name, request, context, failed)
        finally:
            _local.reporting = False

    call.__name__ = name
    return call


def _answer_partial(name: str, request: Any, context: Any, failed: ResourceInitFailed) -> Any:
    import grpc
    from google.protobuf import any_pb2  # type: ignore[import-untyped]
    from google.rpc import status_pb2  # type: ignore[import-untyped]
    from pulumi.runtime import proto, rpc

    inputs = request.properties if name == "Create" else request.news
    given = rpc.deserialize_properties(inputs)
    outputs = {**failed.properties, PROVIDER_KEY: given.get(PROVIDER_KEY)}
    loop = asyncio.new_event_loop()
    try:
        properties = loop.run_until_complete(rpc.serialize_properties(outputs, {}))
    finally:
        loop.close()
    detail = proto.ErrorResourceInitFailed(
        id=failed.resource_id, properties=properties, reasons=[failed.message], inputs=inputs
    )
    packed = any_pb2.Any()
    packed.Pack(detail)
    code = grpc.StatusCode.UNKNOWN
    status = status_pb2.Status(code=code.value[0], message=failed.message, details=[packed])
    context.set_trailing_metadata(((STATUS_DETAILS, status.SerializeToString()),))
    context.set_code(code)
    context.set_details(failed.message)
    return proto.CreateResponse() if name == "Create" else proto.UpdateResponse()
