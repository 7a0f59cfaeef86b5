"""Every task center: the service setting, endpoints per region and cloud, each service's answers over HTTP.

The region tables are checked against the official SDKs' own region files (test dependencies pinned at 3.1.219,
the version the reference README copies its tables from), so a region or host typed wrong in
provider/services.py fails here.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from gaussdb_emulator.server import Emulator
from provider.config.settings import derived_auth_url, derived_endpoint, resolve
from provider.core.errors import ApiError, ConfigError, JobFailed, JobNotFound
from provider.core.services import OTC_DOMAINS, SERVICES, lookup
from provider.taskcenter.client import parse_response
from provider.taskcenter.compose import client_for
from provider.taskcenter.models import Job
from provider.waiting.engine import Hooks
from provider.waiting.waiter import DEFAULT_POLICY, WaitOptions, wait_for_job
from provider.wire.transport import Transport
from tests.support.emulator import aksk_env, running_emulator

P1 = "1" * 32
SERVICE_NAMES = ["gaussdb-mysql", "gaussdb", "gaussdb-nosql", "rds", "dds"]
UNKNOWN_ID = "a9767ede-fe0f-4888-9003-e843a4c90514"
FAST = dataclasses.replace(DEFAULT_POLICY, min_interval=0.05, max_interval=0.2, not_found_grace=0.3, jitter=0.0)
FAST_TRANSPORT = Transport(retries=1, backoff_factor=0.01)

# (service, SDK region module, region class, regions in the reference README's table of that SDK)
SDK_REGION_FILES = [
    ("rds", "huaweicloudsdkrds.v3.region.rds_region", "RdsRegion", 34),
    ("dds", "huaweicloudsdkdds.v3.region.dds_region", "DdsRegion", 34),
    ("gaussdb-nosql", "huaweicloudsdkgaussdbfornosql.v3.region.gaussdbfornosql_region", "GaussDBforNoSQLRegion", 27),
    (
        "gaussdb",
        "huaweicloudsdkgaussdbforopengauss.v3.region.gaussdbforopengauss_region",
        "GaussDBforopenGaussRegion",
        25,
    ),
    ("gaussdb-mysql", "huaweicloudsdkgaussdb.v3.region.gaussdb_region", "GaussDBRegion", 20),
]


def sdk_regions(module: str, class_name: str) -> dict[str, str]:
    region_class = getattr(importlib.import_module(module), class_name)
    return {region_id: region.endpoints[0] for region_id, region in region_class.static_fields.items()}


HUAWEI_CASES = [
    (service, region, endpoint)
    for service, module, class_name, _ in SDK_REGION_FILES
    for region, endpoint in sdk_regions(module, class_name).items()
]

# Open Telekom Cloud: the hosts the services' API pages show (eu-de), and GaussDB (for MySQL)'s long-standing
# derivation in the other two regions. None: no documented host, the user must set endpoint.
OTC_CASES: dict[tuple[str, str], str | None] = {
    ("gaussdb-mysql", "eu-de"): "https://gaussdb-mysql.eu-de.otc.t-systems.com",
    ("gaussdb-mysql", "eu-nl"): "https://gaussdb-mysql.eu-nl.otc.t-systems.com",
    ("gaussdb-mysql", "eu-ch2"): "https://gaussdb-mysql.eu-ch2.sc.otc.t-systems.com",
    ("gaussdb", "eu-de"): "https://gaussdb.eu-de.otc.t-systems.com",
    ("rds", "eu-de"): "https://rds.eu-de.otc.t-systems.com",
    ("dds", "eu-de"): "https://dds.eu-de.otc.t-systems.com",
}


# -- endpoints ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("service", "module", "class_name", "count"), SDK_REGION_FILES)
def test_the_region_tables_hold_exactly_the_sdk_regions(service: str, module: str, class_name: str, count: int) -> None:
    regions = sdk_regions(module, class_name)
    assert len(regions) == count  # the reference README's count for that SDK
    assert dict(SERVICES[service].huawei) == regions


@pytest.mark.parametrize(("service", "region", "endpoint"), HUAWEI_CASES, ids=lambda v: str(v))
def test_every_huawei_cloud_region_derives_the_sdk_endpoint_and_v3(service: str, region: str, endpoint: str) -> None:
    settings = resolve({"service": service, "region": region}, {}, {"HW_PROJECT_ID": P1})
    assert (settings.endpoint, settings.api_path) == (endpoint, "/v3")
    assert settings.jobs_url() == f"{endpoint}/v3/{P1}/jobs"
    assert settings.auth_url == f"https://iam.{region}.myhuaweicloud.com/v3"


@pytest.mark.parametrize("service", SERVICE_NAMES)
@pytest.mark.parametrize("region", list(OTC_DOMAINS))
def test_every_open_telekom_cloud_region_per_service(service: str, region: str) -> None:
    expected = OTC_CASES.get((service, region))
    env = {"HW_PROJECT_ID": P1, "GAUSSDB_SERVICE": service}
    if expected is None:
        with pytest.raises(ConfigError, match=rf"in Open Telekom Cloud region {region} .*set endpoint") as caught:
            resolve({"region": region}, {}, env)
        assert SERVICES[service].title in str(caught.value)
        return
    settings = resolve({"region": region}, {}, env)
    assert (settings.endpoint, settings.api_path) == (expected, "/v3")


def test_eu_ch2_endpoint_and_iam_urls_exactly() -> None:
    settings = resolve({}, {"gaussdb:region": "eu-ch2", "gaussdb:projectId": P1}, {})
    assert settings.endpoint == "https://gaussdb-mysql.eu-ch2.sc.otc.t-systems.com"
    assert settings.auth_url == "https://iam-pub.eu-ch2.sc.otc.t-systems.com/v3"
    assert settings.jobs_url() == f"https://gaussdb-mysql.eu-ch2.sc.otc.t-systems.com/v3/{P1}/jobs"
    assert derived_auth_url("eu-nl") == "https://iam.eu-nl.otc.t-systems.com/v3"
    assert derived_auth_url("eu-de") == "https://iam.eu-de.otc.t-systems.com/v3"


@pytest.mark.parametrize(
    ("service", "region"),
    [("gaussdb-mysql", "xx-nowhere-9"), ("gaussdb-mysql", "eu-west-101"), ("gaussdb", "cn-north-1"), ("rds", "mars-1")],
)
def test_a_region_without_a_known_host_names_the_endpoint_setting(service: str, region: str) -> None:
    with pytest.raises(
        ConfigError, match=rf"no known .* endpoint for region '{region}'.*set endpoint \(gaussdb:endpoint"
    ):
        derived_endpoint(region, SERVICES[service])
    # An explicit endpoint is the way out, and it is taken as given.
    settings = resolve(
        {"service": service, "region": region, "endpoint": "https://db.example"}, {}, {"HW_PROJECT_ID": P1}
    )
    assert settings.endpoint == "https://db.example"


@pytest.mark.parametrize(
    ("service", "path"),
    [("gaussdb-mysql", "/mysql/v3"), ("gaussdb", "/v3"), ("gaussdb-nosql", "/v3"), ("rds", "/v3"), ("dds", "/v3")],
)
def test_explicit_endpoint_api_path_default_per_service(service: str, path: str) -> None:
    env = {"HW_PROJECT_ID": P1, "GAUSSDB_ENDPOINT": "https://db.example"}
    assert resolve({"service": service}, {}, env).api_path == path
    assert resolve({"service": service}, {}, {**env, "GAUSSDB_API_PATH": "/custom/v9"}).api_path == "/custom/v9"


# -- the service setting -----------------------------------------------------------------------------------------


def test_service_argument_beats_config_beats_environment() -> None:
    env = {"HW_PROJECT_ID": P1, "GAUSSDB_ENDPOINT": "https://x.example", "GAUSSDB_SERVICE": "dds"}
    config = {"gaussdb:service": "rds"}
    assert resolve({"service": "gaussdb"}, config, env).service == "gaussdb"
    assert resolve({}, config, env).service == "rds"
    assert resolve({}, {}, env).service == "dds"
    assert resolve({}, {}, {k: v for k, v in env.items() if k != "GAUSSDB_SERVICE"}).service == "gaussdb-mysql"
    # TaurusDB is GaussDB (for MySQL) renamed: the same task center.
    assert resolve({"service": " TaurusDB "}, {}, env).service == "gaussdb-mysql"


@pytest.mark.parametrize("value", ["mysql", "gaussdb_nosql", "rds ", 42, "x" * 200])
def test_unknown_service_is_a_clear_config_error(value: object) -> None:
    env = {"HW_PROJECT_ID": P1, "GAUSSDB_ENDPOINT": "https://x.example"}
    if value == "rds ":
        assert resolve({"service": value}, {}, env).service == "rds"  # stray spaces are forgiven
        return
    with pytest.raises(ConfigError, match=r"invalid service .*expected one of gaussdb-mysql, gaussdb, gaussdb-nosql"):
        resolve({"service": value}, {}, env)


def test_lookup_rejects_unknown_names() -> None:
    assert lookup("RDS").name == "rds"
    with pytest.raises(KeyError):
        lookup("redis")


# -- reading each service's answer ------------------------------------------------------------------------------


def response(status: int, payload: Any, content_type: str = "application/json") -> requests.Response:
    import json

    made = requests.Response()
    made.status_code = status
    made._content = json.dumps(payload).encode()
    made.headers["Content-Type"] = content_type
    made.url = f"https://db.example/v3/{P1}/jobs?id={UNKNOWN_ID}"
    return made


def test_geminidb_list_is_read_by_id_and_its_fields_mapped() -> None:
    other = {"id": "b" * 8 + "-fe0f-4888-9003-e843a4c90514", "name": "x", "status": "Completed"}
    ours = {
        "id": UNKNOWN_ID,
        "name": "CreateInstance",
        "status": "Running",
        "start_time": "2021-07-12T09:22:04+0800",
        "end_time": "",
        "progress": "14%",
        "instance": {"id": "i1", "name": "gem"},
        "fail_reason": "",
    }
    job = parse_response(
        response(200, {"jobs": [other, ours], "total_count": 2}), UNKNOWN_ID, SERVICES["gaussdb-nosql"]
    )
    assert (job.id, job.status, job.process, job.percent) == (UNKNOWN_ID, "Running", "14%", 14.0)
    assert job.created is not None and job.created.isoformat() == "2021-07-12T09:22:04+08:00"
    assert job.ended is None and job.fail_reason is None
    assert set(job.fields()) == {
        "job_id",
        "name",
        "status",
        "created",
        "ended",
        "process",
        "instance",
        "entities",
        "fail_reason",
    }
    with pytest.raises(JobNotFound):
        parse_response(response(200, {"jobs": [], "total_count": 0}), UNKNOWN_ID, SERVICES["gaussdb-nosql"])


@pytest.mark.parametrize("service", ["gaussdb", "dds"])
def test_progress_field_becomes_process(service: str) -> None:
    body = {"job": {"id": UNKNOWN_ID, "name": "n", "status": "Running", "created": "", "progress": "9%"}}
    assert parse_response(response(200, body), UNKNOWN_ID, SERVICES[service]).process == "9%"


def test_a_body_in_another_services_shape_is_malformed_and_transient() -> None:
    single = {"job": {"id": UNKNOWN_ID, "name": "n", "status": "Running"}}
    with pytest.raises(ApiError, match=r"malformed response .*jobs") as caught:
        parse_response(response(200, single), UNKNOWN_ID, SERVICES["gaussdb-nosql"])
    assert caught.value.transient
    with pytest.raises(ApiError, match=r"malformed response .*job"):
        parse_response(response(200, {"jobs": [], "total_count": 0}), UNKNOWN_ID, SERVICES["rds"])
    with pytest.raises(ApiError, match=r"malformed response from the task center \(jobs.0.status"):
        parse_response(
            response(200, {"jobs": [{"id": UNKNOWN_ID, "status": "Queued"}]}), UNKNOWN_ID, SERVICES["gaussdb-nosql"]
        )


@pytest.mark.parametrize(
    ("service", "status", "code", "not_found"),
    [
        ("gaussdb-mysql", 400, "DBS.200543", True),
        ("gaussdb-mysql", 404, "RDS.5041", False),
        ("gaussdb-mysql", 400, "DBS.280016", False),
        ("gaussdb", 400, "DBS.200543", True),
        ("rds", 400, "DBS.200543", True),
        ("rds", 404, "RDS.5041", True),
        ("rds", 400, "DBS.280016", False),
        ("dds", 400, "DBS.280016", True),
        ("dds", 400, "DBS.200543", True),
        ("gaussdb-nosql", 400, "DBS.280016", True),
    ],
)
def test_unknown_job_codes_per_service(service: str, status: int, code: str, not_found: bool) -> None:
    answer = response(status, {"error_code": code, "error_msg": "The job does not exist."})
    if not_found:
        with pytest.raises(JobNotFound):
            parse_response(answer, UNKNOWN_ID, SERVICES[service])
    else:
        with pytest.raises(ApiError, match=code) as caught:
            parse_response(answer, UNKNOWN_ID, SERVICES[service])
        assert not caught.value.transient


# -- client + waiter over HTTP, per service -----------------------------------------------------------------------


@pytest.fixture(scope="module", params=SERVICE_NAMES)
def service_emulator(request: pytest.FixtureRequest) -> Iterator[tuple[str, Emulator]]:
    # Unknown ids are answered as the emulator's --service says: one emulator per service.
    with running_emulator(service=request.param) as emu:
        yield request.param, emu


def _wait(emu: Emulator, service: str, job_id: str, on_poll: Callable[[Job], None] | None = None) -> Any:
    class Seen(Hooks):
        def seen(self, job_id: str, job: Job) -> None:
            if on_poll is not None:
                on_poll(job)

    client = client_for({"service": service}, {}, aksk_env(emu), transport=FAST_TRANSPORT)
    try:
        options = WaitOptions(timeout=30, policy=FAST)
        return wait_for_job(lambda: client.get_job(job_id), options, job_id=job_id, hooks=Seen())
    finally:
        client.close()


def test_each_service_waits_a_running_job_to_completed(service_emulator: tuple[str, Emulator]) -> None:
    service, emu = service_emulator
    created = emu.create_job(service=service, duration=0.4, instance={"id": "inst-1", "name": "db-1"})
    seen: list[str] = []
    job = _wait(emu, service, created["id"], on_poll=lambda j: seen.append(j.status))
    assert job.status == "Completed" and job.id == created["id"]
    assert seen[0] == "Running" and seen[-1] == "Completed"
    assert job.fields()["instance"] == {"id": "inst-1", "name": "db-1"}
    assert job.ended is not None and job.created is not None and job.process == ""


def test_each_service_reports_a_failed_job_with_its_reason(service_emulator: tuple[str, Emulator]) -> None:
    service, emu = service_emulator
    created = emu.create_job(service=service, duration=0, outcome="Failed", fail_reason="createVM failed.")
    with pytest.raises(JobFailed, match=r"createVM failed\.") as caught:
        _wait(emu, service, created["id"])
    assert caught.value.job.fail_reason == "createVM failed."
    assert created["id"] in str(caught.value)


def test_each_service_reports_an_unknown_job_as_not_found_after_the_grace(
    service_emulator: tuple[str, Emulator],
) -> None:
    service, emu = service_emulator
    with pytest.raises(JobNotFound, match=UNKNOWN_ID):
        _wait(emu, service, UNKNOWN_ID)
    # Tolerated (asked again) during the grace before it was reported.
    assert emu.stats()["jobs"][UNKNOWN_ID] >= 2


def test_each_service_reads_a_job_running_progress(service_emulator: tuple[str, Emulator]) -> None:
    service, emu = service_emulator
    created = emu.create_job(service=service, duration=600, progress="steps")
    client = client_for({"service": service}, {}, aksk_env(emu), transport=FAST_TRANSPORT)
    job = client.get_job(created["id"])
    client.close()
    assert (job.status, job.process, job.percent) == ("Running", "0%", 0.0)


def test_another_services_job_is_not_served_on_the_older_mysql_path() -> None:
    with running_emulator() as emu:
        created = emu.create_job(service="rds", duration=0)
        env = aksk_env(emu)
        client = client_for({"service": "rds", "api_path": "/mysql/v3"}, {}, env, transport=FAST_TRANSPORT)
        with pytest.raises(ApiError, match=r"HTTP 404 APIGW\.0101"):
            client.get_job(created["id"])
        client.close()
        # The right path for RDS, with an explicit endpoint, is the default /v3.
        client = client_for({"service": "rds"}, {}, env, transport=FAST_TRANSPORT)
        assert client.get_job(created["id"]).status == "Completed"
        client.close()


def test_settings_refuse_an_unknown_service_however_made() -> None:
    from provider.config.settings import Settings

    with pytest.raises(ConfigError, match="invalid service 'bogus'"):
        Settings(project_id=P1, region=None, service="bogus", endpoint="https://x", api_path="/v3", auth_url=None)
    made = Settings(project_id=P1, region=None, service="TaurusDB", endpoint="https://x", api_path="/v3", auth_url=None)
    assert made.service == "gaussdb-mysql" and made.service_row is SERVICES["gaussdb-mysql"]
