"""Where the client talks to: resolved as resource argument > stack config > environment.

Credentials are deliberately not here: they are discovered by ``provider.config.credentials`` where a client is made
(``provider.compose``), so nothing that holds settings can leak them into Pulumi state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from provider.config.credentials import config_value, first
from provider.config.words import SettingError
from provider.core import services, validate
from provider.core.errors import ConfigError
from provider.core.services import DEFAULT_SERVICE, OTC_DOMAINS, Service

# The API path of an explicit endpoint of the default service (the seed page's); see Service.explicit_api_path.
DEFAULT_API_PATH = services.SERVICES[DEFAULT_SERVICE].explicit_api_path
_SET_ENDPOINT = "set {endpoint} to the service's base URL"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    project_id: str
    region: str | None
    # Which task center (a name of provider.core.services.SERVICES): how the job is read, where it is asked for.
    service: str = DEFAULT_SERVICE
    endpoint: str
    api_path: str
    auth_url: str | None

    def jobs_url(self) -> str:
        return f"{self.endpoint}{self.api_path}/{self.project_id}/jobs"

    @field_validator("service", mode="before")
    @classmethod
    def _known_service(cls, value: object) -> str:
        return resolve_service(value).name

    @property
    def service_row(self) -> Service:
        return services.lookup(self.service)


def resolve_service(value: object) -> Service:
    """The task center named ``value`` (a name or an alias of ``provider.core.services``, any case); ConfigError
    naming the choices, and the closest name or alias when there is one, otherwise."""
    if isinstance(value, str):
        try:
            return services.lookup(value)
        except KeyError:
            pass
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    close = services.closest(value) if isinstance(value, str) else None
    hint = f"; did you mean '{close}'?" if close else ""
    raise ConfigError(f"invalid service {shown}: expected one of {services.names()}{hint}", setting="service")


def check_region(value: object) -> str:
    """A region name such as ``eu-de`` or ``cn-north-4``: letters, digits and dashes, at most 40 characters."""
    if isinstance(value, str):
        value = value.strip()
    if not isinstance(value, str) or not value.replace("-", "").isalnum() or len(value) > 40:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise ConfigError(f"invalid region {shown}: expected a name such as eu-de", setting="region")
    return value


def derived_endpoint(region: str, service: Service | None = None) -> tuple[str, str]:
    """The endpoint and API path of ``service``'s task center (default GaussDB (for MySQL)) in a region of Open
    Telekom Cloud or Huawei Cloud. Derived endpoints use the current path, /v3, for every service."""
    row = service or services.SERVICES[DEFAULT_SERVICE]
    cloud, hosts = ("Open Telekom Cloud", row.otc) if region in OTC_DOMAINS else ("Huawei Cloud", row.huawei)
    host = hosts.get(region)
    if host is None:
        where = f"in {cloud} region {region}" if region in OTC_DOMAINS else f"for region {region!r}"
        offered = ", ".join(hosts) or "none documented"
        # Braces of the values are doubled: the message is a template of setting names (provider/config/words.py).
        known = f"no known {row.title} endpoint {where} (known {cloud} regions: {offered})"
        raise SettingError(known.replace("{", "{{").replace("}", "}}") + ": " + _SET_ENDPOINT, setting="region")
    return host, row.derived_api_path


def derived_auth_url(region: str) -> str:
    if region in OTC_DOMAINS:
        host = "iam-pub" if region == "eu-ch2" else "iam"
        return f"https://{host}.{OTC_DOMAINS[region]}/v3"
    return f"https://iam.{region}.myhuaweicloud.com/v3"


def resolve(args: Mapping[str, Any], config: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
    project = first(
        args.get("project_id"), config_value(config, "projectId"), env.get("HW_PROJECT_ID"), env.get("OS_PROJECT_ID")
    )
    if project is None:
        raise SettingError("no project id: set {project_id}", setting="project_id")
    region = first(
        args.get("region"), config_value(config, "region"), env.get("HW_REGION_NAME"), env.get("OS_REGION_NAME")
    )
    if region is not None:
        region = check_region(region)
    chosen = first(args.get("service"), config_value(config, "service"), env.get("GAUSSDB_SERVICE"))
    row = resolve_service(DEFAULT_SERVICE if chosen is None else chosen)
    endpoint = first(args.get("endpoint"), config_value(config, "endpoint"), env.get("GAUSSDB_ENDPOINT"))
    api_path = first(args.get("api_path"), config_value(config, "apiPath"), env.get("GAUSSDB_API_PATH"))
    if endpoint is None:
        if region is None:
            raise SettingError("no endpoint: set {endpoint} or {region} to derive it from", setting="endpoint")
        endpoint, derived_path = derived_endpoint(region, row)
        api_path = api_path or derived_path
    auth_url = first(config_value(config, "authUrl"), env.get("HW_AUTH_URL"), env.get("OS_AUTH_URL"))
    if auth_url is None and region is not None:
        auth_url = derived_auth_url(region)
    return Settings(
        project_id=validate.project_id(project),
        region=region,
        service=row.name,
        endpoint=validate.endpoint(endpoint),
        api_path=validate.api_path(api_path or row.explicit_api_path),
        auth_url=validate.endpoint(auth_url, "IAM URL", setting="auth_url") if auth_url is not None else None,
    )


# Batch reads (docs/batch-reads.md): "auto" uses a task center's list call and falls back to per-job reads where
# it is refused; "on" uses it and reports a refusal as an error; "off" reads every job by itself.
LIST_API_MODES = ("auto", "on", "off")
LIST_API_CONFIG = "gaussdb:listApi"
LIST_API_ENV = "GAUSSDB_LIST_API"


def parse_list_api(value: object, what: str = "list API mode") -> str:
    """``auto``, ``on`` or ``off`` (any case); ConfigError naming ``what`` and the choices otherwise."""
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in LIST_API_MODES:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise ConfigError(f"invalid {what} {shown}: expected one of {', '.join(LIST_API_MODES)}")
    return text


def list_api(config: Mapping[str, Any], env: Mapping[str, str], flag: str | None = None) -> str:
    """The batch-read mode: ``flag`` (the CLI's ``--list-api``) > stack config ``gaussdb:listApi`` >
    ``GAUSSDB_LIST_API`` > ``auto``."""
    if flag is not None:
        return parse_list_api(flag, "--list-api")
    if config.get(LIST_API_CONFIG) not in (None, ""):
        return parse_list_api(config[LIST_API_CONFIG], LIST_API_CONFIG)
    if env.get(LIST_API_ENV, "").strip():
        return parse_list_api(env[LIST_API_ENV], LIST_API_ENV)
    return "auto"
