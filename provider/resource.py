"""The frozen path of the state contract: never move, rename or remove a name below.

Every deployed stack's state holds a pickle of ``provider.resource.GaussDBJobProvider`` (or
``GaussDBJobsProvider``) by reference; refresh and destroy unpickle it by this module path and these class names.
The classes live in ``provider.resources.dynamic`` and declare this module as theirs, so new pickles name this path
too (pinned byte for byte by tests/test_state_contract.py). See ARCHITECTURE.md, "The state contract".
"""

from provider.resources.dynamic import (
    GaussDBJob,
    GaussDBJobArgs,
    GaussDBJobError,
    GaussDBJobProvider,
    GaussDBJobs,
    GaussDBJobsArgs,
    GaussDBJobsProvider,
)
from provider.resources.operation import GaussDBOperation, GaussDBOperationArgs, GaussDBOperationProvider

__all__ = [
    "GaussDBJob",
    "GaussDBJobArgs",
    "GaussDBJobError",
    "GaussDBJobProvider",
    "GaussDBJobs",
    "GaussDBJobsArgs",
    "GaussDBJobsProvider",
    "GaussDBOperation",
    "GaussDBOperationArgs",
    "GaussDBOperationProvider",
]
