"""Gate infrastructure on GaussDB (for MySQL) task-center jobs.

``GaussDBJob`` is imported lazily so that the CLI and the emulator do not pay for importing Pulumi.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.3.0"
__all__ = ["GaussDBJob", "GaussDBJobArgs", "GaussDBJobs", "GaussDBJobsArgs", "GaussDBOperation", "GaussDBOperationArgs"]


def __getattr__(name: str) -> Any:
    if name in ("GaussDBOperation", "GaussDBOperationArgs"):
        from provider.resources import operation

        return getattr(operation, name)
    if name in __all__:
        from provider.resources import dynamic

        return getattr(dynamic, name)
    raise AttributeError(f"module 'provider' has no attribute {name!r}")
