"""Waits side by side in the dynamic-provider plugin: Create/Read/Update/Delete get a pool of their own.

Pulumi's Python dynamic-provider plugin (``python -m pulumi.dynamic``) serves every call of every dynamic resource
of a stack from one gRPC server with four workers (``grpc.server(futures.ThreadPoolExecutor(max_workers=4))`` in
``pulumi/dynamic/__main__.py``). A create that waits for a job holds a worker for the whole wait, so four waits
stall everything else, including the Check the engine needs to register the next resource.

grpc looks up the pool for each call when the call arrives (``grpc._server._select_thread_pool_for_behavior``):
when the method's behaviour (here the servicer's bound method ``Create``) has an attribute
``experimental_thread_pool`` that is a ``ThreadPoolExecutor``, the call runs there instead of on the server's
pool. A bound method forwards attribute reads to its function, so setting that attribute on the functions of the
plugin's servicer class (``DynamicResourceProviderServicer.Create`` ...) moves every later Create/Read/Update/Delete
onto a pool of their own, while Check, Diff, Configure, Cancel and GetPluginInfo stay on the four workers, which
they now hold only for milliseconds. This works after the server has started, which matters: this module is first
imported while the plugin unpickles the provider during the first call it serves.

What it relies on (checked before anything is changed; when a check fails nothing is changed, the plugin keeps its
stock behaviour and one line on stderr says so): the plugin runs as ``__main__`` with the module spec
``pulumi.dynamic.__main__``; that module has ``DynamicResourceProviderServicer`` whose Create/Read/Update/Delete are
plain functions; ``grpc._server._select_thread_pool_for_behavior`` exists and reads ``experimental_thread_pool``.
Tested with pulumi 3.272.0 and grpcio 1.85.3.

Shutdown: on Ctrl-C the plugin's main thread stops the gRPC server and returns, then the interpreter joins the
pool workers before it exits. ``shutdown_event()`` is set as soon as the main thread has ended, and when the engine
calls the plugin's Cancel RPC (a no-op in the SDK: it is wrapped here to set the event first), so waits given it
as ``cancel`` end at once, sleeps in the request budget included, instead of keeping the process alive until
their jobs finish. The same moment every HTTP request in flight is cut (``provider.wire.transport.abort_requests``),
so a wait blocked on a hung server ends at once too, not at its request's deadline.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import types
from concurrent import futures
from typing import Any

from provider.waiting.clock import Cancel
from provider.wire import transport

# Environment setting: how many Create/Read/Update/Delete calls may run at once (each wait holds one); 0 keeps the
# SDK's stock behaviour (every call on its four workers).
WORKERS_ENV = "GAUSSDB_PLUGIN_WORKERS"
# 64 and 1024 are choices, not measured limits (unverified): an idle worker costs a thread; docs/pulumi.md has the
# Check latency measured with 20 waits in flight.
DEFAULT_WORKERS = 64
MAX_WORKERS = 1024
LIFTED = ("Create", "Read", "Update", "Delete")
PLUGIN_MODULE = "pulumi.dynamic.__main__"
# How long the exit waits for grpc to cancel its calls (a grace of 0: at once; a bound, not a measured figure).
GRPC_CANCEL_JOIN_SECONDS = 1.0
ATTRIBUTE = "experimental_thread_pool"

_lock = threading.Lock()
_installed = False
_pool: futures.ThreadPoolExecutor | None = None
_shutdown: Cancel | None = None


class LiftError(Exception):
    """Something the lift relies on is not as expected; the message says what."""


def in_plugin() -> bool:
    """True in the process ``python -m pulumi.dynamic`` (the engine's plugin), False in a program, CLI or test."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return getattr(spec, "name", None) == PLUGIN_MODULE


def workers(env: dict[str, str] | os._Environ[str] | None = None) -> int:
    """The configured pool size; raises LiftError on a value that is not a whole number in range."""
    raw = (os.environ if env is None else env).get(WORKERS_ENV, "").strip()
    if not raw:
        return DEFAULT_WORKERS
    try:
        value = int(raw)
    except ValueError:
        raise LiftError(f"{WORKERS_ENV}={raw!r} is not a whole number") from None
    if not 0 <= value <= MAX_WORKERS:
        raise LiftError(f"{WORKERS_ENV}={value} is out of range 0..{MAX_WORKERS}")
    return value


def _servicer_functions() -> dict[str, types.FunctionType]:
    main = sys.modules.get("__main__")
    servicer = getattr(main, "DynamicResourceProviderServicer", None)
    if not isinstance(servicer, type):
        raise LiftError(f"{PLUGIN_MODULE} has no DynamicResourceProviderServicer class")
    found: dict[str, types.FunctionType] = {}
    for name in LIFTED:
        function = servicer.__dict__.get(name)
        if not isinstance(function, types.FunctionType):
            raise LiftError(f"DynamicResourceProviderServicer.{name} is not a plain function")
        found[name] = function
    return found


def _check_grpc() -> None:
    try:
        from grpc import _server
    except ImportError as exc:  # pragma: no cover - grpc is what the plugin runs on
        raise LiftError(f"grpc._server cannot be imported ({exc})") from None
    select = getattr(_server, "_select_thread_pool_for_behavior", None)
    code = getattr(select, "__code__", None)
    if code is None or ATTRIBUTE not in code.co_names:
        raise LiftError(f"grpc._server._select_thread_pool_for_behavior does not read {ATTRIBUTE}")


def install() -> bool:
    """Give the plugin's long calls their own pool, once per process; True when the lift is in place.

    A no-op (False, silent) outside the plugin or when the setting is 0. Never raises: when something it relies
    on is missing, the plugin keeps the stock behaviour and one line on stderr says why.
    """
    global _installed, _pool
    with _lock:
        if _installed:
            return _pool is not None
        _installed = True
        if not in_plugin():
            return False
        _watch_shutdown()
        _wrap_cancel()
        _stoppable_by_sigint()
        size = DEFAULT_WORKERS
        try:
            size = workers()
            if size == 0:
                return False
            functions = _servicer_functions()
            _check_grpc()
            pool = futures.ThreadPoolExecutor(max_workers=size, thread_name_prefix="gaussdb-wait")
            for function in functions.values():
                setattr(function, ATTRIBUTE, pool)
        except Exception as exc:  # noqa: BLE001 - any surprise means: keep the stock behaviour, say so once
            print(
                f"gaussdb-job: waits run on the plugin's 4 workers (the {size}-worker lift did not apply: {exc})",
                file=sys.stderr,
                flush=True,
            )
            return False
        _pool = pool
        return True


def pool() -> futures.ThreadPoolExecutor | None:
    """The pool long calls run on, None when the lift is not in place."""
    return _pool


def _watch_shutdown() -> None:
    """Set the shutdown event when the interpreter starts to exit, before it joins the workers still serving."""
    global _shutdown
    event = Cancel()
    # CPython runs ``threading._register_atexit`` hooks in reverse order of registration when the main thread has
    # ended, before it joins any thread; concurrent.futures registered its own (join every pool worker) when the
    # plugin built its pool, so this one runs first. Private since Python 3.9: when it is missing, a watcher
    # thread that joins the main thread does the same on Pythons that release the main thread before the hooks.
    register = getattr(threading, "_register_atexit", None)
    if callable(register):
        register(_at_exit)
    else:  # pragma: no cover - every supported CPython has it

        def watch() -> None:
            threading.main_thread().join()
            _at_exit()

        threading.Thread(target=watch, name="gaussdb-shutdown-watch", daemon=True).start()
    _shutdown = event


def _stoppable_by_sigint() -> None:
    """A plugin started with SIGINT ignored (``nohup ... &``: a shell without job control ignores SIGINT in what it
    starts in the background, and the ignore is inherited) never gets Python's KeyboardInterrupt, so SIGINT, how
    the engine stops it, did nothing (issue 20). Python sets handlers from the main thread only, and this runs in a
    gRPC worker, so the default action is restored at the C level: SIGINT then ends the process at once, its waits
    with it (the jobs go on in the task center, as after a Ctrl-C). A no-op unless SIGINT is ignored."""
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        return
    try:
        libc = ctypes.CDLL(None)
        libc.signal.restype = ctypes.c_void_p
        libc.signal.argtypes = (ctypes.c_int, ctypes.c_void_p)
        libc.signal(int(signal.SIGINT), None)  # None is NULL: SIG_DFL
    except (OSError, AttributeError):  # pragma: no cover - no C library to call: SIGINT stays ignored
        return


def _cancel_rpc(self: Any, request: Any, context: Any) -> Any:
    """The body the plugin's ``Cancel`` gets (see ``_wrap_cancel``): set the shutdown event, answer as before.
    Runs with the plugin module's globals, where ``empty_pb2`` is."""
    from provider.resources import plugin_pool

    plugin_pool.cancel_all()
    return empty_pb2.Empty()  # type: ignore[name-defined]  # noqa: F821 - a global of the plugin's module


def _wrap_cancel() -> None:
    """Give the plugin's Cancel RPC (a no-op in the SDK) a body that ends every wait. grpc registered the servicer's
    bound method when the server started, so the function itself must change: its code is replaced (same
    signature, no closure), only when it is the SDK's plain function in a module that has ``empty_pb2``."""
    main = sys.modules.get("__main__")
    servicer = getattr(main, "DynamicResourceProviderServicer", None)
    function = servicer.__dict__.get("Cancel") if isinstance(servicer, type) else None
    if not isinstance(function, types.FunctionType) or function.__code__.co_freevars:
        return
    if "empty_pb2" not in function.__globals__ or function.__code__ is _cancel_rpc.__code__:
        return
    function.__code__ = _cancel_rpc.__code__


def _at_exit() -> None:
    """The plugin's main thread has stopped the server (``server.stop(0)``) and returned. grpc cancels the calls in
    flight from a thread of its own (``cancel_all_calls_after_grace`` in ``grpc._server._stop``, even for a grace
    of 0): let it, so the engine hears the calls cancelled, as it always did, before the waits end and the calls
    that were waiting could answer with an error of their own instead."""
    for thread in threading.enumerate():
        target = getattr(thread, "_target", None)  # Thread.run deletes it once the target has returned
        if getattr(target, "__name__", "") == "cancel_all_calls_after_grace":
            thread.join(GRPC_CANCEL_JOIN_SECONDS)
    _end_everything()


def _end_everything() -> None:
    if _shutdown is not None:
        _shutdown.set()  # first: a wait that sees its request cut finds itself cancelled, not in an outage
    transport.abort_requests()


def cancel_all() -> None:
    """End every wait of the plugin at once (the engine's Cancel RPC): sleeps and requests in flight alike."""
    if _shutdown is not None:
        _end_everything()


def shutdown_event() -> threading.Event | None:
    """Set when the plugin is shutting down (Ctrl-C in ``pulumi up``); None outside the plugin."""
    return _shutdown
