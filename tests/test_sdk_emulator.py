"""The official Huawei Cloud SDK, unmodified, against the emulator: proof the wire format and signatures match."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkgaussdb.v3 import GaussDBClient, ShowGaussMySqlJobInfoRequest

from gaussdb_emulator.server import Emulator, EmulatorConfig
from tests.support.emulator import running_emulator

CFG = EmulatorConfig()


def client(emu: Emulator, credentials: BasicCredentials) -> Any:
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True
    config.timeout = (5, 5)
    return (
        GaussDBClient.new_builder()
        .with_credentials(credentials)
        .with_endpoints([emu.url])
        .with_http_config(config)
        .build()
    )


def show(emu: Emulator, credentials: BasicCredentials, job_id: str) -> Any:
    return client(emu, credentials).show_gauss_my_sql_job_info(ShowGaussMySqlJobInfoRequest(id=job_id))


def test_sdk_reads_a_job_with_permanent_keys(emu: Emulator) -> None:
    job = emu.create_job(
        name=" RestartGaussDBInstance",
        duration=0,
        instance={"id": "a48e43ff268f4c0e879652d65e63d0fbin01", "name": "DO-NOT-TOUCH"},
        entities={"instance": {"endpoint": "192.168.1.203:3306"}},
    )
    response = show(emu, BasicCredentials(CFG.access_key, CFG.secret_key, CFG.project_id), job["id"])
    assert response.job.id == job["id"]
    assert response.job.name == " RestartGaussDBInstance"
    assert response.job.status == "Completed"
    assert response.job.process == ""
    assert response.job.ended
    assert response.job.instance.id == "a48e43ff268f4c0e879652d65e63d0fbin01"
    assert response.status_code == 200
    # The SDK's entities model declares no fields and drops them; the raw body still has them.
    assert response.to_json_object()["job"]["entities"] == {"instance": {"endpoint": "192.168.1.203:3306"}}


def test_sdk_reads_a_running_job_with_temporary_keys(emu: Emulator) -> None:
    job = emu.create_job(duration=600, outcome="Failed")
    credentials = BasicCredentials(CFG.temp_access_key, CFG.temp_secret_key, CFG.project_id).with_security_token(
        CFG.security_token
    )
    response = show(emu, credentials, job["id"])
    assert response.job.status == "Running"
    assert response.job.process.endswith("%")


def test_sdk_temporary_keys_without_the_token_are_refused(emu: Emulator) -> None:
    job = emu.create_job()
    with pytest.raises(ClientRequestException) as caught:
        show(emu, BasicCredentials(CFG.temp_access_key, CFG.temp_secret_key, CFG.project_id), job["id"])
    assert caught.value.status_code == 401


def test_sdk_wrong_secret_key_is_401(emu: Emulator) -> None:
    job = emu.create_job()
    with pytest.raises(ClientRequestException) as caught:
        show(emu, BasicCredentials(CFG.access_key, "not-the-secret", CFG.project_id), job["id"])
    assert caught.value.status_code == 401
    assert caught.value.error_code == "APIGW.0301"


def test_sdk_unknown_job_is_dbs_200543(emu: Emulator) -> None:
    with pytest.raises(ClientRequestException) as caught:
        show(emu, BasicCredentials(CFG.access_key, CFG.secret_key, CFG.project_id), "no-such-job")
    assert caught.value.status_code == 400
    assert caught.value.error_code == "DBS.200543"
    assert caught.value.error_msg == "The job does not exist."
    assert caught.value.request_id


def test_sdk_other_project_is_403(emu: Emulator) -> None:
    with pytest.raises(ClientRequestException) as caught:
        show(emu, BasicCredentials(CFG.access_key, CFG.secret_key, "1" * 32), "x")
    assert caught.value.status_code == 403
    assert caught.value.error_code == "APIGW.0302"


# -- every service: its own official SDK reads a job in its own shape -------------------------------------------


@dataclass(frozen=True)
class SdkCase:
    """How one service's SDK asks for a job and where its model keeps the fields."""

    service: str
    client_class: type
    ask: Callable[[Any, str], Any]
    job_of: Callable[[Any], Any]
    progress: str
    created: str
    ended: str


def _rds() -> SdkCase:
    from huaweicloudsdkrds.v3 import ListJobInfoRequest, RdsClient

    return SdkCase(
        "rds",
        RdsClient,
        lambda c, i: c.list_job_info(ListJobInfoRequest(id=i)),
        lambda r: r.job,
        "process",
        "created",
        "ended",
    )


def _dds() -> SdkCase:
    from huaweicloudsdkdds.v3 import DdsClient, ShowJobDetailRequest

    return SdkCase(
        "dds",
        DdsClient,
        lambda c, i: c.show_job_detail(ShowJobDetailRequest(id=i)),
        lambda r: r.job,
        "progress",
        "created",
        "ended",
    )


def _nosql() -> SdkCase:
    from huaweicloudsdkgaussdbfornosql.v3 import GaussDBforNoSQLClient, ListJobsRequest

    def only(response: Any) -> Any:
        assert response.total_count == 1 and len(response.jobs) == 1
        return response.jobs[0]

    return SdkCase(
        "gaussdb-nosql",
        GaussDBforNoSQLClient,
        lambda c, i: c.list_jobs(ListJobsRequest(id=i)),
        only,
        "progress",
        "start_time",
        "end_time",
    )


def _opengauss() -> SdkCase:
    from huaweicloudsdkgaussdbforopengauss.v3 import GaussDBforopenGaussClient, ShowJobDetailRequest

    return SdkCase(
        "gaussdb",
        GaussDBforopenGaussClient,
        lambda c, i: c.show_job_detail(ShowJobDetailRequest(id=i)),
        lambda r: r.job,
        "progress",
        "created",
        "ended",
    )


def _mysql() -> SdkCase:
    return SdkCase(
        "gaussdb-mysql",
        GaussDBClient,
        lambda c, i: c.show_gauss_my_sql_job_info(ShowGaussMySqlJobInfoRequest(id=i)),
        lambda r: r.job,
        "process",
        "created",
        "ended",
    )


SDK_CASES = [_mysql(), _opengauss(), _nosql(), _rds(), _dds()]


def sdk_client(emu: Emulator, case: SdkCase) -> Any:
    config = HttpConfig.get_default_config()
    config.timeout = (5, 5)
    return (
        case.client_class.new_builder()  # type: ignore[attr-defined]
        .with_credentials(BasicCredentials(CFG.access_key, CFG.secret_key, CFG.project_id))
        .with_endpoints([emu.url])
        .with_http_config(config)
        .build()
    )


@pytest.mark.parametrize("case", SDK_CASES, ids=lambda c: c.service)
def test_each_services_sdk_reads_a_running_job_in_its_own_shape(emu: Emulator, case: SdkCase) -> None:
    created = emu.create_job(service=case.service, duration=600, instance={"id": "inst-7", "name": "db-7"})
    job = case.job_of(case.ask(sdk_client(emu, case), created["id"]))
    assert (job.id, job.status) == (created["id"], "Running")
    assert (job.instance.id, job.instance.name) == ("inst-7", "db-7")
    assert getattr(job, case.progress).endswith("%")
    assert getattr(job, case.created) == created["created"]


@pytest.mark.parametrize("case", SDK_CASES, ids=lambda c: c.service)
def test_each_services_sdk_reads_a_failed_job_with_its_reason(emu: Emulator, case: SdkCase) -> None:
    created = emu.create_job(service=case.service, duration=0, outcome="Failed", fail_reason="createVM failed.")
    job = case.job_of(case.ask(sdk_client(emu, case), created["id"]))
    assert job.status == "Failed"
    assert job.fail_reason == "createVM failed."
    assert getattr(job, case.ended)
    assert getattr(job, case.progress) == ""


@pytest.mark.parametrize("case", SDK_CASES, ids=lambda c: c.service)
def test_each_services_sdk_sees_a_scheduled_job_as_pending(emu: Emulator, case: SdkCase) -> None:
    created = emu.create_job(service=case.service, pending_for=600, duration=5)
    job = case.job_of(case.ask(sdk_client(emu, case), created["id"]))
    assert job.status == "Pending"
    assert getattr(job, case.progress) == ""


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        (_mysql(), 400, "DBS.200543"),
        (_opengauss(), 400, "DBS.200543"),
        (_rds(), 404, "RDS.5041"),
        (_dds(), 400, "DBS.280016"),
    ],
    ids=lambda c: c.service if isinstance(c, SdkCase) else str(c),
)
def test_each_services_sdk_gets_its_unknown_job_error(case: SdkCase, status: int, code: str) -> None:
    # An id the emulator never heard of is answered as the emulator's --service says.
    with running_emulator(service=case.service) as emu:
        with pytest.raises(ClientRequestException) as caught:
            case.ask(sdk_client(emu, case), "a9767ede-fe0f-4888-9003-e843a4c90514")
    assert (caught.value.status_code, caught.value.error_code) == (status, code)


def test_geminidb_sdk_gets_an_empty_list_for_an_unknown_job() -> None:
    case = _nosql()
    with running_emulator(service="gaussdb-nosql") as emu:
        response = case.ask(sdk_client(emu, case), "a9767ede-fe0f-4888-9003-e843a4c90514")
        hidden = emu.create_job(service="rds", visible_after=600)
        # A known job not yet visible is answered in its own service's way, whatever the default.
        with pytest.raises(ClientRequestException) as caught:
            _rds().ask(sdk_client(emu, _rds()), hidden["id"])
    assert (response.jobs, response.total_count) == ([], 0)
    assert caught.value.error_code == "RDS.5041"
