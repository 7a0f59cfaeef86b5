"""Each service's official SDK reads the emulator's list call, every field of its item model filled; the list
calls' parameters, paging, errors and the switch that turns them off."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig

from gaussdb_emulator.__main__ import main as emulator_main
from gaussdb_emulator.server import Emulator, EmulatorConfig

CFG = EmulatorConfig()


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    # Playing GeminiDB: its list shares /v3/{project_id}/jobs with the per-job read; the other lists have paths
    # of their own and are served whatever the emulator plays.
    with Emulator(EmulatorConfig(port=0, service="gaussdb-nosql")) as emulator:
        yield emulator


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def _window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(hours=1)


@dataclass(frozen=True)
class ListCase:
    service: str
    client_class: Callable[[], type]
    # (client, limit, offset) -> the SDK's response; asks with the service's own time window where it has one.
    ask: Callable[[Any, int | None, int | None], Any]
    items: Callable[[Any], list[Any]]
    item_id: str
    nested: tuple[str, ...] = ()


def _mysql() -> ListCase:
    from huaweicloudsdkgaussdb.v3 import GaussDBClient, ListImmediateJobsRequest

    def ask(client: Any, limit: int | None, offset: int | None) -> Any:
        start, end = _window()
        request = ListImmediateJobsRequest(
            start_time=_iso(start),
            end_time=_iso(end),
            limit=None if limit is None else str(limit),
            offset=None if offset is None else str(offset),
        )
        return client.list_immediate_jobs(request)

    return ListCase("gaussdb-mysql", lambda: GaussDBClient, ask, lambda r: r.jobs, "job_id")


def _rds() -> ListCase:
    from huaweicloudsdkrds.v3 import ListTasksRequest, RdsClient

    def ask(client: Any, limit: int | None, offset: int | None) -> Any:
        start, end = _window()
        return client.list_tasks(ListTasksRequest(start_time=_ms(start), end_time=_ms(end), limit=limit, offset=offset))

    return ListCase("rds", lambda: RdsClient, ask, lambda r: r.tasks, "id")


def _opengauss() -> ListCase:
    from huaweicloudsdkgaussdbforopengauss.v3 import GaussDBforopenGaussClient, ListTasksRequest

    def ask(client: Any, limit: int | None, offset: int | None) -> Any:
        start, end = _window()
        return client.list_tasks(ListTasksRequest(start_time=_ms(start), end_time=_ms(end), limit=limit, offset=offset))

    return ListCase("gaussdb", lambda: GaussDBforopenGaussClient, ask, lambda r: r.tasks, "job_id", ("instance_info",))


def _dds() -> ListCase:
    from huaweicloudsdkdds.v3 import DdsClient, ListTasksRequest

    def ask(client: Any, limit: int | None, offset: int | None) -> Any:
        start, end = _window()
        return client.list_tasks(
            ListTasksRequest(start_time=_iso(start), end_time=_iso(end), limit=limit, offset=offset)
        )

    return ListCase("dds", lambda: DdsClient, ask, lambda r: r.jobs, "id")


def _nosql() -> ListCase:
    from huaweicloudsdkgaussdbfornosql.v3 import GaussDBforNoSQLClient, ListJobsRequest

    def ask(client: Any, limit: int | None, offset: int | None) -> Any:
        return client.list_jobs(ListJobsRequest(limit=limit, offset=offset))

    return ListCase("gaussdb-nosql", lambda: GaussDBforNoSQLClient, ask, lambda r: r.jobs, "id", ("instance",))


CASES = [_mysql(), _rds(), _opengauss(), _dds(), _nosql()]


def sdk_client(emu: Emulator, case: ListCase) -> Any:
    config = HttpConfig.get_default_config()
    config.timeout = (5, 5)
    return (
        case.client_class()
        .new_builder()  # type: ignore[attr-defined]
        .with_credentials(BasicCredentials(CFG.access_key, CFG.secret_key, CFG.project_id))
        .with_endpoints([emu.url])
        .with_http_config(config)
        .build()
    )


def _unfilled(model: Any, nested: tuple[str, ...]) -> list[str]:
    """The fields of an SDK model the answer left out (None), nested models included."""
    missing = [name for name in model.openapi_types if getattr(model, name) is None]
    for name in nested:
        inner = getattr(model, name)
        missing += [f"{name}.{n}" for n in inner.openapi_types if getattr(inner, n) is None]
    return missing


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.service)
def test_each_services_sdk_reads_its_list_with_every_field_filled(emu: Emulator, case: ListCase) -> None:
    failed = emu.create_job(
        service=case.service,
        duration=0,
        outcome="Failed",
        fail_reason="createVM failed.",
        instance={"id": "inst-l", "name": "db-l"},
    )
    running = emu.create_job(service=case.service, duration=600)
    other = emu.create_job(service="rds" if case.service != "rds" else "dds", duration=0)
    response = case.ask(sdk_client(emu, case), 50, None)
    items = {getattr(item, case.item_id): item for item in case.items(response)}
    assert failed["id"] in items and running["id"] in items
    assert other["id"] not in items  # another service's job is not in this task center
    assert _unfilled(items[failed["id"]], case.nested) == []
    assert [name for name in response.openapi_types if getattr(response, name) is None] == []
    assert response.total_count == len(items)
    assert items[failed["id"]].status == "Failed"
    assert items[failed["id"]].fail_reason == "createVM failed."
    assert items[running["id"]].status == "Running"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.service)
def test_each_list_pages(case: ListCase) -> None:
    with Emulator(EmulatorConfig(port=0, service="gaussdb-nosql")) as emulator:
        ids = {emulator.create_job(service=case.service, duration=0)["id"] for _ in range(12)}
        client = sdk_client(emulator, case)
        first_offset, second_offset = (1, 2) if case.service == "gaussdb-mysql" else (0, 10)
        first = case.items(case.ask(client, 10, first_offset))
        second = case.items(case.ask(client, 10, second_offset))
    seen = [getattr(item, case.item_id) for item in first + second]
    assert (len(first), len(second)) == (10, 2)
    assert set(seen) == ids and len(seen) == 12


@pytest.mark.parametrize(
    ("case", "limit", "code"),
    [
        (_mysql(), 30, "DBS.200001"),
        (_rds(), 51, "DBS.200001"),
        (_opengauss(), 101, "DBS.200001"),
        (_dds(), 101, "DBS.280001"),
        (_nosql(), 5, "DBS.280001"),
    ],
    ids=lambda c: c.service if isinstance(c, ListCase) else str(c),
)
def test_each_list_refuses_a_limit_out_of_its_bounds(emu: Emulator, case: ListCase, limit: int, code: str) -> None:
    with pytest.raises(ClientRequestException) as caught:
        case.ask(sdk_client(emu, case), limit, None)
    assert (caught.value.status_code, caught.value.error_code) == (400, code)


def test_dds_list_requires_its_window(emu: Emulator) -> None:
    from huaweicloudsdkdds.v3 import ListTasksRequest

    start, _ = _window()
    with pytest.raises(ClientRequestException) as caught:
        sdk_client(emu, _dds()).list_tasks(
            ListTasksRequest(start_time=_iso(start), end_time=_iso(start - timedelta(days=31)))
        )
    assert caught.value.error_code == "DBS.280001"


def test_the_window_selects_by_creation_time(emu: Emulator) -> None:
    from huaweicloudsdkrds.v3 import ListTasksRequest

    job = emu.create_job(service="rds", duration=0)
    client = sdk_client(emu, _rds())
    later = datetime.now(UTC) + timedelta(hours=2)
    outside = client.list_tasks(ListTasksRequest(start_time=_ms(later), end_time=_ms(later + timedelta(hours=1))))
    inside = _rds().ask(client, 50, None)
    assert job["id"] not in {t.id for t in outside.tasks}
    assert job["id"] in {t.id for t in inside.tasks}


def _get(emu: Emulator, path: str) -> requests.Response:
    return requests.get(f"{emu.url}{path}", headers={"X-Auth-Token": CFG.token}, timeout=5)


def test_a_list_call_switched_off_answers_404_and_is_logged_as_a_list(emu: Emulator) -> None:
    before = len(emu.stats()["log"])
    assert emu.set_list_api("rds", False) == ["rds"]
    try:
        refused = _get(emu, f"/v3/{CFG.project_id}/tasklist")
        served = _get(emu, f"/v3/{CFG.project_id}/tasks")
    finally:
        emu.set_list_api("all", True)
    assert (refused.status_code, refused.json()["error_code"]) == (404, "APIGW.0101")
    assert served.status_code == 200
    assert [entry[1:] for entry in emu.stats()["log"][before:]] == [[None, "list"], [None, "list"]]


def test_the_control_api_switches_list_calls(emu: Emulator) -> None:
    url = f"{emu.url}/_emulator/list-api"
    off = requests.post(url, json={"service": "all", "enabled": False}, timeout=5)
    try:
        refused = _get(emu, f"/v3.1/{CFG.project_id}/jobs")
    finally:
        on = requests.post(url, json={"service": "all", "enabled": True}, timeout=5)
    bad = requests.post(url, json={"service": "mongo", "enabled": False}, timeout=5)
    assert off.json() == {"off": ["dds", "gaussdb", "gaussdb-mysql", "gaussdb-nosql", "rds"]}
    assert refused.status_code == 404
    assert on.json() == {"off": []}
    assert bad.status_code == 400


def test_geminidb_jobs_path_without_id_is_a_parameter_error_where_the_emulator_plays_another_service() -> None:
    with Emulator(EmulatorConfig(port=0)) as emulator:
        response = _get(emulator, f"/v3/{CFG.project_id}/jobs")
    assert (response.status_code, response.json()["error_code"]) == (400, "DBS.200001")


def test_the_command_line_refuses_an_unknown_service_for_no_list_api(capsys: pytest.CaptureFixture[str]) -> None:
    assert emulator_main(["--port", "0", "--no-list-api", "mongo"]) == 2
    assert "unknown service 'mongo'" in capsys.readouterr().err


def test_the_configuration_turns_a_services_list_call_off() -> None:
    with Emulator(EmulatorConfig(port=0, no_list_api=frozenset({"rds"}))) as emulator:
        refused = _get(emulator, f"/v3/{CFG.project_id}/tasklist")
        served = _get(emulator, f"/v3/{CFG.project_id}/immediate-jobs")
    assert refused.status_code == 404 and served.status_code == 200
    with pytest.raises(ValueError, match="unknown service 'mongo'"):
        EmulatorConfig(no_list_api=frozenset({"mongo"}))
