"""How each front end names a setting, so an error says which knob fixes it in the words of the front end in use.

Settings and credentials raise ``SettingError`` with a template naming settings (``{project_id}``); the front end
fills it with its own words: the CLI with flags and environment variables (it reads no stack config, and takes
credentials only from the environment), the Pulumi resources with arguments, ``gaussdb:`` keys and environment
variables. ``str()`` of the error is the stack's wording, so a caller that does not choose gets what a Pulumi
user needs.
"""

from __future__ import annotations

from collections.abc import Mapping

from provider.core.errors import ConfigError

# The Pulumi resources: argument (where there is one), stack config key, environment variable.
STACK: Mapping[str, str] = {
    "project_id": "project_id (gaussdb:projectId, HW_PROJECT_ID)",
    "region": "region (gaussdb:region, HW_REGION_NAME)",
    "endpoint": "endpoint (gaussdb:endpoint, GAUSSDB_ENDPOINT)",
    "auth_url": "gaussdb:authUrl or HW_AUTH_URL",
    "access_key": "the access key (gaussdb:accessKey, HW_ACCESS_KEY)",
    "secret_key": "the secret key (gaussdb:secretKey, HW_SECRET_KEY)",
    "aksk": "an access key and secret key (HW_ACCESS_KEY, HW_SECRET_KEY or gaussdb:accessKey, gaussdb:secretKey)",
    "auth_token": "an IAM token (gaussdb:authToken, HW_AUTH_TOKEN)",
    "login": "an IAM user and password (gaussdb:userName, gaussdb:password, gaussdb:domainName or HW_USER_NAME, "
    "HW_PASSWORD, HW_DOMAIN_NAME)",
    "user_name": "the user name (gaussdb:userName, HW_USER_NAME)",
    "password": "the password (gaussdb:password, HW_PASSWORD)",
    "domain_name": "the domain name (gaussdb:domainName, HW_DOMAIN_NAME)",
}

# gaussdb-job: its flags, and the environment for what has no flag (credentials above all).
CLI: Mapping[str, str] = {
    "project_id": "--project-id (or HW_PROJECT_ID)",
    "region": "--region (or HW_REGION_NAME)",
    "endpoint": "--endpoint (or GAUSSDB_ENDPOINT)",
    "auth_url": "HW_AUTH_URL",
    "access_key": "HW_ACCESS_KEY",
    "secret_key": "HW_SECRET_KEY",
    "aksk": "HW_ACCESS_KEY and HW_SECRET_KEY",
    "auth_token": "HW_AUTH_TOKEN",
    "login": "HW_USER_NAME, HW_PASSWORD and HW_DOMAIN_NAME (the CLI reads credentials from the environment only)",
    "user_name": "HW_USER_NAME",
    "password": "HW_PASSWORD",
    "domain_name": "HW_DOMAIN_NAME",
}


class SettingError(ConfigError):
    """A setting is missing or unusable; ``template`` names settings as ``{name}`` placeholders of the words above."""

    def __init__(self, template: str, *, setting: str | None = None) -> None:
        self.template = template
        super().__init__(template.format_map(STACK), setting=setting)

    def worded(self, words: Mapping[str, str]) -> str:
        return self.template.format_map(words)


def message(error: BaseException, words: Mapping[str, str]) -> str:
    """The error's text in a front end's words (an error that names no setting as it is)."""
    return error.worded(words) if isinstance(error, SettingError) else str(error)
