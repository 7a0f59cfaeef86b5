"""The response models: tolerant where the API is loose, strict where a wrong value would mislead."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from provider.models import Job, JobResponse

SEED_EXAMPLE = {
    "job": {
        "id": "31b8ae23-c687-4d80-b7b4-42a66c9bb886",
        "name": " RestartGaussDBInstance",
        "status": "Completed",
        "created": "2018-08-06T10:41:14+0000",
        "ended": "2018-08-06T16:41:14+0000",
        "process": "",
        "instance": {"id": "a48e43ff268f4c0e879652d65e63d0fbin01", "name": "DO-NOT-TOUCH-mgr2-gaussdb"},
        "entities": {},
    }
}
CURRENT_EXAMPLE = {
    "job": {
        "id": "a9767ede-fe0f-4888-9003-e843a4c90514",
        "name": "CreateMysqlInstance",
        "status": "Completed",
        "created": "2018-08-06T10:41:14+0800",
        "ended": "2018-08-06T16:41:14+0000",
        "process": "",
        "instance": {"id": "a48e43ff268f4c0e879652d65e63d0fbin07", "name": "DO-NOT-TOUCH-mgr2-mysql-single"},
        "entities": {
            "instance": {
                "endpoint": "192.168.1.203:3306",
                "type": "Cluster",
                "datastore": {"type": "gaussdb-mysql", "version": "8.0"},
            },
            "resource_ids": ["a48e43ff268f4c0e879652d65e63d0fbin07.vm", "a48e43ff268f4c0e879652d65e63d0fbin07.volume"],
        },
    }
}


def test_the_pages_examples_parse() -> None:
    seed = JobResponse.model_validate(SEED_EXAMPLE).job
    assert seed.name == "RestartGaussDBInstance" and seed.entities == {} and seed.finished
    current = JobResponse.model_validate(CURRENT_EXAMPLE).job
    assert current.created is not None and current.created.utcoffset() is not None
    assert current.created.utcoffset().total_seconds() == 8 * 3600  # type: ignore[union-attr]
    typed = current.typed_entities
    assert typed.instance is not None and typed.instance.endpoint == "192.168.1.203:3306"
    assert typed.instance.datastore is not None and typed.instance.datastore.version == "8.0"
    assert current.fields()["entities"] == CURRENT_EXAMPLE["job"]["entities"]  # kept as returned


def test_loose_inputs_are_tolerated() -> None:
    job = Job.model_validate(
        {
            "id": " x ",
            "status": "Running",
            "process": "60%",
            "ended": "",
            "entities": None,
            "unknown_field": {"kept": True},
            "fail_reason": "",
        }
    )
    assert job.id == "x" and job.ended is None and job.entities == {} and job.fail_reason is None
    assert job.percent == 60.0 and not job.finished
    assert job.model_extra == {"unknown_field": {"kept": True}}
    assert (
        Job.model_validate(
            {"id": "x", "status": "Running", "entities": {"public_ip": "1.2.3.4"}}
        ).typed_entities.public_ip
        == "1.2.3.4"
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"id": "x", "status": "Done"},
        {"id": "x", "status": "completed"},
        {"id": "", "status": "Running"},
        {"status": "Running"},
        {"id": "x", "status": "Running", "created": "yesterday"},
        {"id": "x", "status": "Running", "created": "2018-08-06T10:41:14"},
        {"id": "x", "status": "Running", "entities": {"resource_ids": "not-a-list"}},
        {"id": "x", "status": "Running", "entities": []},
    ],
)
def test_misleading_values_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Job.model_validate(bad)


@pytest.mark.parametrize(
    ("process", "percent"),
    [("60%", 60.0), (" 5 % ", 5.0), ("", None), ("abc", None), ("150%", None), ("99.5%", 99.5), ("100", 100.0)],
)
def test_percent(process: str, percent: float | None) -> None:
    assert Job(id="x", status="Running", process=process).percent == percent


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["id", "name", "status", "created", "ended", "process", "instance", "entities", "fail_reason", "extra"]
        ),
        _json,
        max_size=9,
    )
)
def test_any_json_either_parses_into_a_consistent_job_or_fails_validation(body: dict[str, Any]) -> None:
    try:
        job = Job.model_validate(body)
    except ValidationError:
        return
    assert job.status in {"Running", "Completed", "Failed"} and job.id
    json.dumps(job.fields())  # always serialisable as outputs


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.timezones()),
    st.sampled_from(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S+0000"]),
)
def test_times_round_trip(moment: Any, fmt: str) -> None:
    moment = moment.replace(microsecond=0)
    text = moment.strftime(fmt)
    job = Job.model_validate({"id": "x", "status": "Completed", "created": text})
    assert job.created is not None and job.created.tzinfo is not None
    # The same instant, not just some aware time: "+0000" written literally means the wall time is UTC's.
    expected = moment if "%z" in fmt else moment.replace(tzinfo=UTC)
    assert job.created == expected
    assert job.created.utcoffset() == expected.utcoffset()
    # And the output string reads back as the same instant.
    assert datetime.fromisoformat(job.fields()["created"]) == expected
