"""Where the client talks to: resolved as resource argument > stack config > environment.

Credentials are deliberately not here: they are discovered by ``provider.credentials`` where a client is made
(``provider.compose``), so nothing that holds settings can leak them into Pulumi state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from provider import validate
from provider.credentials import config_value, first
from provider.errors import ConfigError

DEFAULT_API_PATH = "/mysql/v3"

# Open Telekom Cloud regions and their host suffixes; every other region is taken to be Huawei Cloud's.
_OTC_SUFFIX = {
    "eu-de": "eu-de.otc.t-systems.com",
    "eu-nl": "eu-nl.otc.t-systems.com",
    "eu-ch2": "eu-ch2.sc.otc.t-systems.com",
}


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    project_id: str
    region: str | None
    # Which task center (see provider/services.py once issue 10 lands): gaussdb-mysql is today's behaviour.
    service: str = "gaussdb-mysql"
    endpoint: str
    api_path: str
    auth_url: str | None

    def jobs_url(self) -> str:
        return f"{self.endpoint}{self.api_path}/{self.project_id}/jobs"


def derived_endpoint(region: str) -> tuple[str, str]:
    """The GaussDB (for MySQL) endpoint and API path for a region of Open Telekom Cloud or Huawei Cloud."""
    if region in _OTC_SUFFIX:
        return f"https://gaussdb-mysql.{_OTC_SUFFIX[region]}", "/v3"
    return f"https://gaussdb.{region}.myhuaweicloud.com", "/mysql/v3"


def derived_auth_url(region: str) -> str:
    if region in _OTC_SUFFIX:
        host = "iam-pub" if region == "eu-ch2" else "iam"
        return f"https://{host}.{_OTC_SUFFIX[region]}/v3"
    return f"https://iam.{region}.myhuaweicloud.com/v3"


def resolve(args: Mapping[str, Any], config: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
    project = first(
        args.get("project_id"), config_value(config, "projectId"), env.get("HW_PROJECT_ID"), env.get("OS_PROJECT_ID")
    )
    if project is None:
        raise ConfigError("no project id: set the project_id argument, gaussdb:projectId or HW_PROJECT_ID")
    region = first(
        args.get("region"), config_value(config, "region"), env.get("HW_REGION_NAME"), env.get("OS_REGION_NAME")
    )
    if region is not None and (
        not isinstance(region, str) or not region.replace("-", "").isalnum() or len(region) > 40
    ):
        raise ConfigError(f"invalid region {region!r}")
    endpoint = first(args.get("endpoint"), config_value(config, "endpoint"), env.get("GAUSSDB_ENDPOINT"))
    api_path = first(args.get("api_path"), config_value(config, "apiPath"), env.get("GAUSSDB_API_PATH"))
    if endpoint is None:
        if region is None:
            raise ConfigError(
                "no endpoint: set endpoint (gaussdb:endpoint, GAUSSDB_ENDPOINT) or a region "
                "(gaussdb:region, HW_REGION_NAME) to derive it from"
            )
        endpoint, derived_path = derived_endpoint(region)
        api_path = api_path or derived_path
    auth_url = first(config_value(config, "authUrl"), env.get("HW_AUTH_URL"), env.get("OS_AUTH_URL"))
    if auth_url is None and region is not None:
        auth_url = derived_auth_url(region)
    return Settings(
        project_id=validate.project_id(project),
        region=region,
        endpoint=validate.endpoint(endpoint),
        api_path=validate.api_path(api_path or DEFAULT_API_PATH),
        auth_url=validate.endpoint(auth_url, "IAM URL") if auth_url is not None else None,
    )
