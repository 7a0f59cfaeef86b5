"""A provider for tests of where the plugin runs each call: every call answers with the name of its thread.

Pickled by reference (this module is importable in the plugin through ``PYTHONPATH``), so the real plugin runs
it with the real lift (``provider.resources.plugin_pool``): importing ``provider.resources.dynamic`` installs it.
"""

from __future__ import annotations

import threading
from typing import Any

from pulumi.dynamic import CheckResult, CreateResult, ReadResult, UpdateResult

from provider.resources.dynamic import GaussDBJobProvider


def _thread() -> str:
    return threading.current_thread().name


class ThreadReportingProvider(GaussDBJobProvider):
    """Each call says which thread ran it: in its outputs, its inputs (Check) or its error (Delete)."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult({**news, "thread": _thread()}, [])

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult("placed", {"thread": _thread()})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, {"thread": _thread()})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult({"thread": _thread()})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        raise RuntimeError(f"thread={_thread()}")
