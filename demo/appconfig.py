"""``AppConfig``: the example stack's downstream resource, a stand-in for whatever must wait for the database.

It renders an application's database connection settings from the endpoint the GaussDB job reports. It talks to
nothing (create and update only compute outputs, delete forgets), so the example runs offline and without a
cloud provider. Defined in an importable module, its provider pickles by reference, as ``GaussDBJob``'s does.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

INPUTS = ("endpoint", "database", "user")


def render(endpoint: str | None, database: str, user: str) -> dict[str, Any]:
    """``host:port`` (as the task center reports instance endpoints) to connection settings."""
    host, _, port = (endpoint or "").rpartition(":")
    if not host:
        host, port = endpoint or "", ""
    return {
        "host": host,
        "port": port or "3306",
        "database": database,
        "user": user,
        "dsn": f"mysql://{user}@{endpoint}/{database}" if endpoint else "",
    }


class AppConfigProvider(ResourceProvider):
    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> CreateResult:
        outputs = self._outputs(props)
        digest = hashlib.sha256(json.dumps(outputs, sort_keys=True).encode()).hexdigest()[:16]
        return CreateResult(f"appconfig-{digest}", outputs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in INPUTS if olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._outputs(news))

    @staticmethod
    def _outputs(props: dict[str, Any]) -> dict[str, Any]:
        endpoint, database, user = props.get("endpoint"), props.get("database", "app"), props.get("user", "app")
        settings = render(endpoint, str(database), str(user))
        return {"endpoint": endpoint, "database": database, "user": user, "settings": settings}


class AppConfig(pulumi.dynamic.Resource, module="demo", name="AppConfig"):
    """Connection settings for an application, rendered from a database endpoint."""

    endpoint: pulumi.Output[str]
    database: pulumi.Output[str]
    user: pulumi.Output[str]
    settings: pulumi.Output[dict[str, Any]]

    def __init__(
        self,
        resource_name: str,
        endpoint: pulumi.Input[str],
        database: pulumi.Input[str] = "app",
        user: pulumi.Input[str] = "app",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"endpoint": endpoint, "database": database, "user": user, "settings": None}
        super().__init__(AppConfigProvider(), resource_name, props, opts)
