"""Settings resolution and input validation: pure logic, no network."""

from __future__ import annotations

import pytest

from provider.config.credentials import discover, secret_values
from provider.config.settings import resolve
from provider.core import validate
from provider.core.errors import ConfigError
from provider.taskcenter.compose import Resolved, auth_for
from provider.wire.auth import AkSkAuth, PasswordAuth, TokenAuth

P1, P2, P3 = "1" * 32, "2" * 32, "3" * 32


def test_argument_beats_config_beats_environment() -> None:
    env = {"HW_PROJECT_ID": P3, "GAUSSDB_ENDPOINT": "https://env.example", "HW_REGION_NAME": "eu-nl"}
    config = {"gaussdb:projectId": P2, "gaussdb:endpoint": "https://config.example"}
    assert resolve({"project_id": P1}, config, env).project_id == P1
    assert resolve({}, config, env).project_id == P2
    assert resolve({}, {}, env).project_id == P3
    assert resolve({}, {}, {"OS_PROJECT_ID": P3, "GAUSSDB_ENDPOINT": "https://x"}).project_id == P3
    assert resolve({"endpoint": "https://arg.example/"}, config, env).endpoint == "https://arg.example"
    assert resolve({}, config, env).endpoint == "https://config.example"


def test_endpoint_and_api_path_from_region() -> None:
    otc = resolve({}, {"gaussdb:region": "eu-de", "gaussdb:projectId": P1}, {})
    assert otc.endpoint == "https://gaussdb-mysql.eu-de.otc.t-systems.com" and otc.api_path == "/v3"
    assert otc.auth_url == "https://iam.eu-de.otc.t-systems.com/v3"
    assert otc.jobs_url() == f"https://gaussdb-mysql.eu-de.otc.t-systems.com/v3/{P1}/jobs"
    hw = resolve({}, {}, {"HW_REGION_NAME": "ap-southeast-1", "HW_PROJECT_ID": P1})
    # The SDK's region table (an exception to gaussdb.{region}) and the current path, not the older /mysql/v3.
    assert hw.endpoint == "https://gaussdbformysql.ap-southeast-1.myhuaweicloud.com" and hw.api_path == "/v3"
    explicit = resolve({}, {}, {"GAUSSDB_ENDPOINT": "https://x.example", "HW_PROJECT_ID": P1})
    assert explicit.api_path == "/mysql/v3"
    assert (
        resolve({}, {}, {"GAUSSDB_ENDPOINT": "https://x", "HW_PROJECT_ID": P1, "GAUSSDB_API_PATH": "/v3/"}).api_path
        == "/v3"
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ({}, {"GAUSSDB_ENDPOINT": "https://x"}, "no project id"),
        ({}, {"HW_PROJECT_ID": P1}, "no endpoint"),
        ({"project_id": "abc"}, {"GAUSSDB_ENDPOINT": "https://x"}, "invalid project id"),
        ({"project_id": "../" + "a" * 29}, {"GAUSSDB_ENDPOINT": "https://x"}, "invalid project id"),
        ({"endpoint": "http://gaussdb.example.com"}, {"HW_PROJECT_ID": P1}, "plain http"),
        ({"endpoint": "http://10.0.0.1:8080"}, {"HW_PROJECT_ID": P1}, "plain http"),
        ({"endpoint": "ftp://x"}, {"HW_PROJECT_ID": P1}, "invalid endpoint"),
        ({"endpoint": "https://user:pw@x"}, {"HW_PROJECT_ID": P1}, "no credentials"),
        ({"endpoint": "https://x?a=b"}, {"HW_PROJECT_ID": P1}, "no credentials, query"),
        ({"region": "eu-de/../x"}, {"HW_PROJECT_ID": P1}, "invalid region"),
    ],
)
def test_bad_settings_are_refused_clearly(args: dict[str, str], env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve(args, {}, env)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9", "http://127.9.9.9"])
def test_plain_http_is_accepted_for_loopback(url: str) -> None:
    assert resolve({"endpoint": url}, {}, {"HW_PROJECT_ID": P1}).endpoint == url


@pytest.mark.parametrize(
    "job_id",
    [
        "",
        " ",
        "\t",
        "../../etc/passwd",
        "a9767ede-fe0f-4888-9003-e843a4c90514/../x",
        "a" * 300,
        "ä9767ede-fe0f-4888-9003-e843a4c90514",
        "a9767ede-fe0f-4888-9003-e843a4c90514&id=other",
        "a9767ede-fe0f-4888-9003-e843a4c90514%26",
        " a9767ede-fe0f-4888-9003-e843a4c90514",
        None,
        42,
    ],
)
def test_bad_job_ids(job_id: object) -> None:
    with pytest.raises(ConfigError, match="invalid job id"):
        validate.job_id(job_id)


def test_good_job_id_is_normalised() -> None:
    assert validate.job_id("A9767EDE-FE0F-4888-9003-E843A4C90514") == "a9767ede-fe0f-4888-9003-e843a4c90514"


@pytest.mark.parametrize("value", [0, -1, "-5", "nan", "inf", 10**9, "soon", True, None])
def test_bad_timeouts(value: object) -> None:
    with pytest.raises(ConfigError, match="invalid timeout"):
        validate.timeout(value)


def test_credentials_order_and_completeness() -> None:
    settings = resolve({}, {}, {"HW_PROJECT_ID": P1, "GAUSSDB_ENDPOINT": "https://x", "HW_AUTH_URL": "https://iam/v3"})
    everything = {
        "HW_ACCESS_KEY": "ak",
        "HW_SECRET_KEY": "sk",
        "HW_AUTH_TOKEN": "tok",
        "HW_USER_NAME": "u",
        "HW_PASSWORD": "pw",
        "HW_DOMAIN_NAME": "d",
    }

    def from_sources(settings: object, config: dict[str, str], env: dict[str, str]) -> object:
        return auth_for(Resolved(settings, discover(config, env)))  # type: ignore[arg-type]

    assert isinstance(from_sources(settings, {}, everything), AkSkAuth)
    assert isinstance(from_sources(settings, {}, {k: v for k, v in everything.items() if "KEY" not in k}), TokenAuth)
    assert isinstance(
        from_sources(settings, {}, {"HW_USER_NAME": "u", "HW_PASSWORD": "pw", "HW_DOMAIN_NAME": "d"}), PasswordAuth
    )
    assert isinstance(from_sources(settings, {"gaussdb:authToken": "t"}, {}), TokenAuth)
    with pytest.raises(ConfigError, match="incomplete AK/SK"):
        from_sources(settings, {}, {"HW_ACCESS_KEY": "ak"})
    with pytest.raises(ConfigError, match="incomplete IAM login"):
        from_sources(settings, {}, {"HW_USER_NAME": "u"})
    with pytest.raises(ConfigError, match="no credentials"):
        from_sources(settings, {}, {})


def test_auth_objects_do_not_show_secrets() -> None:
    for obj in [
        AkSkAuth("AKID12345", "supersecretvalue"),
        TokenAuth("supersecrettoken"),
        PasswordAuth("https://iam/v3", "u", "supersecretpw", "d", P1),
    ]:
        assert "supersecret" not in repr(obj)
    assert set(secret_values({"gaussdb:password": "pw-from-config"}, {"HW_SECRET_KEY": "sk-from-env"})) >= {
        "pw-from-config",
        "sk-from-env",
    }
