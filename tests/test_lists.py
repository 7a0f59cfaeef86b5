"""The list calls as data (pure logic): each service's query, window and item mapping, and what its errors mean."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from provider.core.errors import ApiError, AuthError
from provider.core.services import SERVICES
from provider.taskcenter import lists

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def _response(status: int, body: object) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.url = "https://rds.example.test/v3/p/tasklist"
    return response


def test_every_service_has_a_list_call() -> None:
    assert {name for name, row in SERVICES.items() if row.list_call is not None} == set(SERVICES)


@pytest.mark.parametrize(
    ("service", "page", "expected"),
    [
        ("gaussdb-mysql", 1, {"limit": "50", "offset": "2", "start_time": "2026-01-01T11:59:00+0000"}),
        (
            "rds",
            1,
            {"limit": "50", "offset": "50", "start_time": str(int((T0 - lists.WINDOW_MARGIN).timestamp()) * 1000)},
        ),
        ("gaussdb", 0, {"limit": "100", "offset": "0"}),
        ("dds", 0, {"limit": "100", "offset": "0", "end_time": "2026-01-01T12:06:00+0000"}),
        ("gaussdb-nosql", 2, {"limit": "50", "offset": "100"}),
    ],
)
def test_each_query_in_the_services_own_format(service: str, page: int, expected: dict[str, str]) -> None:
    call = SERVICES[service].list_call
    assert call is not None
    span = lists.window(call, [T0, T0 + timedelta(minutes=5)])
    query = lists.query(call, span, page)
    assert {key: query[key] for key in expected} == expected


def test_the_window_holds_unknown_jobs_around_this_machines_time_and_is_cut_to_30_days() -> None:
    call = SERVICES["dds"].list_call
    assert call is not None
    start, end = lists.window(call, [T0 - timedelta(days=40), T0], around=T0) or (T0, T0)
    assert end == T0 + lists.CLOCK_SKEW + lists.WINDOW_MARGIN
    assert end - start <= timedelta(days=30)
    assert lists.window(call, []) is None


def test_items_map_onto_the_job_model() -> None:
    opengauss = SERVICES["gaussdb"].list_call
    assert opengauss is not None
    job = lists.as_job(
        opengauss,
        {
            "job_id": " j1 ",
            "name": " CreateGaussDBV5Instance",
            "status": "Running",
            "process": "60%",
            "created_at": "1767268800000",
            "ended_at": "",
            "instance_info": {"instance_id": "i1", "instance_name": "db"},
        },
    )
    assert (job.id, job.name, job.process, job.percent) == ("j1", "CreateGaussDBV5Instance", "60%", 60.0)
    assert job.created == T0 and job.ended is None
    assert job.instance is not None and (job.instance.id, job.instance.name) == ("i1", "db")


def test_a_page_is_read_by_id() -> None:
    row = SERVICES["rds"]
    assert row.list_call is not None
    body = {
        "total_count": 1,
        "actions": ["RestartInstance"],
        "tasks": [
            {"id": "ABC", "name": "RestartInstance", "status": "Completed", "create_time": "2026-01-01T12:00:00+0000"}
        ],
    }
    page = lists.parse_page(_response(200, body), row.list_call, row)
    assert set(page.jobs) == {"abc"} and page.total == 1 and page.count == 1


@pytest.mark.parametrize(
    ("status", "body", "kind", "transient"),
    [
        (404, {"error_code": "APIGW.0101", "error_msg": "The API does not exist"}, lists.ListRefused, False),
        (403, {"error_code": "APIGW.0302", "error_msg": "not authorized"}, lists.ListRefused, False),
        (400, {"error_code": "DBS.280343", "error_msg": "Unsupported operation."}, lists.ListRefused, False),
        (401, {"error_code": "APIGW.0301", "error_msg": "bad credentials"}, AuthError, False),
        (429, {"error_code": "APIGW.0308", "error_msg": "throttled"}, ApiError, True),
        (500, {"error_code": "DBS.200000", "error_msg": "oops"}, ApiError, True),
        (400, {"error_code": "DBS.200001", "error_msg": "Parameter error."}, ApiError, False),
    ],
)
def test_what_each_error_means(status: int, body: dict[str, str], kind: type, transient: bool) -> None:
    row = SERVICES["rds"]
    assert row.list_call is not None
    with pytest.raises(kind) as caught:
        lists.parse_page(_response(status, body), row.list_call, row)
    assert type(caught.value) is kind
    if isinstance(caught.value, ApiError):
        assert caught.value.transient is transient


def test_a_malformed_answer_makes_the_list_call_unusable_here() -> None:
    """A 200 that is not the list: the task center falls back to per-job reads (auto), not a transient error that
    would fail every round until the outage limit."""
    row = SERVICES["dds"]
    assert row.list_call is not None
    with pytest.raises(lists.ListRefused, match="malformed list answer") as caught:
        lists.parse_page(_response(200, {"jobs": {"id": "x"}}), row.list_call, row)
    assert not caught.value.transient


def test_an_item_the_model_cannot_read_is_skipped_not_the_page() -> None:
    row = SERVICES["gaussdb-mysql"]
    assert row.list_call is not None
    body = {
        "total_count": 2,
        "jobs": [{"job_id": "other", "status": "Canceled"}, {"job_id": "ours", "status": "Running", "process": "5%"}],
    }
    page = lists.parse_page(_response(200, body), row.list_call, row)
    assert set(page.jobs) == {"ours"} and page.count == 2
