"""The official Huawei Cloud SDK, unmodified, against the emulator: proof the wire format and signatures match."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkgaussdb.v3 import GaussDBClient, ShowGaussMySqlJobInfoRequest

from gaussdb_emulator.server import Emulator, EmulatorConfig

CFG = EmulatorConfig()


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(port=0)) as emulator:
        yield emulator


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
