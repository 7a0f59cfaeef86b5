"""The task centers this project waits on, as data: one row per service, no branches elsewhere.

Every database service of Huawei Cloud and Open Telekom Cloud has its own copy of the same call,
``GET {endpoint}/v3/{project_id}/jobs?id={id}``, differing only in details: the response shape (one ``job``, or
GeminiDB's list ``{"jobs": [...], "total_count": N}``), the name of the progress field (``process`` or
``progress``), the names of the time fields, the error codes that mean "no such job", and the hosts. A row holds
those details; ``provider.taskcenter.client`` reads a response through its row and ``provider.config.settings``
derives an endpoint from it, so the rest of the code (engine, resources, CLI) sees one ``Job`` whatever the service.

Sources (see the README's "Services" section): the Open Telekom Cloud API pages and error-code appendices of each
service, and the region files of the official Huawei Cloud Python SDKs 3.1.219 (``huaweicloudsdk*/v3/region``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# "The job does not exist." (HTTP 400) in the GaussDB (for MySQL), TaurusDB, GaussDB (openGauss) and RDS (V3)
# error tables. The services share the DBS backend, so it is accepted from every task center: a job not yet
# visible must be tolerated during the grace period, never reported as an API error.
JOB_DOES_NOT_EXIST = "DBS.200543"
# DDS and GeminiDB document no job-specific code; their generic "Resource not found." (HTTP 400) is what a query
# whose only resource is the job id can answer.
RESOURCE_NOT_FOUND = "DBS.280016"

# Open Telekom Cloud regions and the domain their hosts live under; every other region is Huawei Cloud's.
OTC_DOMAINS: Mapping[str, str] = MappingProxyType(
    {
        "eu-de": "eu-de.otc.t-systems.com",
        "eu-nl": "eu-nl.otc.t-systems.com",
        "eu-ch2": "eu-ch2.sc.otc.t-systems.com",
    }
)


def _huawei(prefix: str, regions: str, exceptions: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """Region -> endpoint of an SDK region file: ``https://{prefix}.{region}.myhuaweicloud.com`` unless listed."""
    table = {region: f"https://{prefix}.{region}.myhuaweicloud.com" for region in regions.split()}
    table.update(exceptions or {})
    return MappingProxyType(table)


def _otc(prefix: str, regions: str) -> Mapping[str, str]:
    return MappingProxyType({region: f"https://{prefix}.{OTC_DOMAINS[region]}" for region in regions.split()})


@dataclass(frozen=True)
class ListCall:
    """A task center's list call: many jobs in one answer (``reference/LIST-APIS.md``; docs/batch-reads.md has the
    page of each). None accepts several ids or returns ``entities``; each filters by a window on the jobs'
    creation time, written in the service's own format, and pages."""

    # Below the endpoint, whatever the per-job read's API path (the list calls exist only at these paths).
    path: str
    # Where the answer keeps its items, and each item's fields (mapped onto the Job model's).
    items: str
    id_field: str
    name_field: str
    progress_field: str
    created_field: str
    ended_field: str
    # The item's instance: a nested object with its key names, or flat ``instance_id``/``instance_name`` ("").
    instance_field: str
    instance_id: str
    instance_name: str
    # "iso": yyyy-mm-ddThh:mm:ssZ (Z an offset such as +0100); "ms": UNIX milliseconds, UTC.
    time_format: str
    # The largest page the call documents, and how ``offset`` counts ("records" from 0, "pages" from 1).
    page_size: int
    offset_kind: str = "records"
    # Both ends of the window are required, and at most this many days apart (DDS, GeminiDB: 30).
    window_required: bool = False
    max_span_days: float | None = None
    # The list's item is the per-job read's whole record (GeminiDB: one API, one shape): an ended job needs no
    # read of its own.
    whole_record: bool = False


@dataclass(frozen=True)
class Service:
    """One task center: how to call it, how to read its answer, where it lives."""

    name: str
    title: str
    # The response: one job under "job", or a list under "jobs" (GeminiDB), where an empty list means not found.
    listed: bool
    # The field holding the progress string ("60%"); the Job model (and so every output) calls it ``process``.
    progress_field: str
    created_field: str
    ended_field: str
    # Error codes meaning the task center does not know the job (tolerated for the grace period, then not found).
    not_found_codes: frozenset[str]
    # API path prefix for an explicit endpoint when none is configured; derived endpoints always use /v3.
    explicit_api_path: str
    # Region -> endpoint, per cloud. A region missing here has no known host for this service: set ``endpoint``.
    huawei: Mapping[str, str]
    otc: Mapping[str, str]
    # The official SDK package that reads this task center (a test oracle, never imported by the provider).
    sdk: str
    derived_api_path: str = field(default="/v3")
    # The list call (batch reads); every service has one on Huawei Cloud (LIST-APIS.md).
    list_call: ListCall | None = None


_MYSQL = Service(
    name="gaussdb-mysql",
    title="GaussDB (for MySQL) / TaurusDB",
    listed=False,
    progress_field="process",
    created_field="created",
    ended_field="ended",
    not_found_codes=frozenset({JOB_DOES_NOT_EXIST}),
    # The seed page's path: an explicit endpoint keeps it; TaurusDB files it under "APIs to be unavailable soon".
    explicit_api_path="/mysql/v3",
    huawei=_huawei(
        "gaussdb",
        "cn-north-4 cn-southwest-2 cn-east-3 cn-south-1 ru-northwest-2 ap-southeast-3 cn-north-2 cn-north-9"
        " ap-southeast-4 sa-brazil-1 cn-south-4",
        {
            "tr-west-1": "https://gaussdbformysql.tr-west-1.myhuaweicloud.com",
            "ap-southeast-1": "https://gaussdbformysql.ap-southeast-1.myhuaweicloud.com",
            "ap-southeast-2": "https://gaussdbformysql.ap-southeast-2.myhuaweicloud.com",
            "af-south-1": "https://gaussdb-mysql.af-south-1.myhuaweicloud.com",
            "cn-north-11": "https://gaussdbformysql.cn-north-11.myhuaweicloud.com",
            "cn-east-5": "https://gaussdb-mysql.cn-east-5.myhuaweicloud.com",
            "la-north-2": "https://gaussdb-mysql.la-north-2.myhuaweicloud.com",
            "cn-southwest-3": "https://gaussdb-mysql.cn-southwest-3.myhuaweicloud.com",
            "me-east-1": "https://gaussdbformysql.me-east-1.myhuaweicloud.com",
        },
    ),
    # eu-de is the pages' example host; eu-nl and eu-ch2 follow the same naming and were derived before this
    # table existed (kept so that no configuration that worked breaks). The pages document no other region.
    otc=_otc("gaussdb-mysql", "eu-de eu-nl eu-ch2"),
    sdk="huaweicloudsdkgaussdb",
    # ListImmediateJobs. limit 10, 20 or 50; offset "default 1", read as a page number from 1 as Terraform's data
    # source pages it (unverified).
    list_call=ListCall(
        path="/v3/{project_id}/immediate-jobs",
        items="jobs",
        id_field="job_id",
        name_field="job_name",
        progress_field="process",
        created_field="created_time",
        ended_field="ended_time",
        instance_field="",
        instance_id="instance_id",
        instance_name="instance_name",
        time_format="iso",
        page_size=50,
        offset_kind="pages",
    ),
)

# Regions whose openGauss host is gaussdb.{region} (the GaussDB (for MySQL) prefix), not gaussdb-opengauss.
_OPENGAUSS_ON_GAUSSDB_HOSTS = "cn-east-4 cn-east-5 ap-southeast-5 tr-west-1 me-east-1 af-north-1 cn-east-2 cn-north-12"

_OPENGAUSS = Service(
    name="gaussdb",
    title="GaussDB (openGauss)",
    listed=False,
    progress_field="progress",
    created_field="created",
    ended_field="ended",
    not_found_codes=frozenset({JOB_DOES_NOT_EXIST}),
    explicit_api_path="/v3",
    huawei=_huawei(
        "gaussdb-opengauss",
        "cn-north-4 cn-southwest-2 cn-south-1 ru-northwest-2 ap-southeast-3 cn-north-2 ap-southeast-2"
        " ap-southeast-1 cn-east-3 sa-brazil-1 la-south-2 la-north-2 af-south-1 cn-north-9 cn-south-2"
        " ap-southeast-4 cn-south-4",
        {r: f"https://gaussdb.{r}.myhuaweicloud.com" for r in _OPENGAUSS_ON_GAUSSDB_HOSTS.split()},
    ),
    otc=_otc("gaussdb", "eu-de"),
    sdk="huaweicloudsdkgaussdbforopengauss",
    # ListTasks: limit 1-100, window in UNIX milliseconds.
    list_call=ListCall(
        path="/v3/{project_id}/tasks",
        items="tasks",
        id_field="job_id",
        name_field="name",
        progress_field="process",
        created_field="created_at",
        ended_field="ended_at",
        instance_field="instance_info",
        instance_id="instance_id",
        instance_name="instance_name",
        time_format="ms",
        page_size=100,
    ),
)

_NOSQL = Service(
    name="gaussdb-nosql",
    title="GeminiDB (GaussDB NoSQL: Cassandra, Mongo, Influx, Redis)",
    listed=True,
    progress_field="progress",
    created_field="start_time",
    ended_field="end_time",
    not_found_codes=frozenset({JOB_DOES_NOT_EXIST, RESOURCE_NOT_FOUND}),
    explicit_api_path="/v3",
    huawei=_huawei(
        "gaussdb-nosql",
        "af-south-1 cn-north-4 cn-north-1 cn-east-2 cn-east-3 cn-south-1 cn-southwest-2 ap-southeast-2"
        " ap-southeast-1 ap-southeast-3 ap-southeast-4 ap-southeast-5 me-east-1 cn-east-4 cn-south-4"
        " cn-southwest-3 tr-west-1 ru-northwest-2 cn-south-2 cn-north-2 la-north-2 sa-brazil-1 la-south-2"
        " cn-north-9 cn-north-11 ru-moscow-1",
        {"eu-west-101": "https://gaussdb-nosql.eu-west-101.myhuaweicloud.eu"},
    ),
    # The GeminiDB page shows no host, so no Open Telekom Cloud region can be derived: set ``endpoint``.
    otc=_otc("gaussdb-nosql", ""),
    sdk="huaweicloudsdkgaussdbfornosql",
    # ListJobs: the per-job read's path without ``id``; limit 10, 20 or 50; a window of at most 30 days.
    list_call=ListCall(
        path="/v3/{project_id}/jobs",
        items="jobs",
        id_field="id",
        name_field="name",
        progress_field="progress",
        created_field="start_time",
        ended_field="end_time",
        instance_field="instance",
        instance_id="id",
        instance_name="name",
        time_format="iso",
        page_size=50,
        max_span_days=30,
        whole_record=True,
    ),
)

_RDS = Service(
    name="rds",
    title="RDS (MySQL, PostgreSQL, SQL Server)",
    listed=False,
    progress_field="process",
    created_field="created",
    ended_field="ended",
    # DBS.200543 (400) in the V3 error table, RDS.5041 (404) in the V1 table: both "The job does not exist."
    not_found_codes=frozenset({JOB_DOES_NOT_EXIST, "RDS.5041"}),
    explicit_api_path="/v3",
    huawei=_huawei(
        "rds",
        "af-south-1 cn-north-4 cn-north-1 cn-east-2 cn-east-3 cn-east-5 cn-east-4 cn-south-1 cn-southwest-2"
        " ap-southeast-2 ap-southeast-1 ap-southeast-3 ru-northwest-2 sa-brazil-1 la-north-2 cn-south-2"
        " na-mexico-1 la-south-2 cn-north-9 cn-north-2 tr-west-1 ap-southeast-4 ap-southeast-5 ae-ad-1"
        " eu-west-0 my-kualalumpur-1 ru-moscow-1 me-east-1 af-north-1 cn-north-12 cn-south-4 cn-southwest-3"
        " cn-north-11",
        {"eu-west-101": "https://rds.eu-west-101.myhuaweicloud.eu"},
    ),
    otc=_otc("rds", "eu-de"),
    sdk="huaweicloudsdkrds",
    # ListTasks ("Querying Instant Tasks"): limit 1-50, window in UNIX milliseconds, end_time required with
    # start_time.
    list_call=ListCall(
        path="/v3/{project_id}/tasklist",
        items="tasks",
        id_field="id",
        name_field="name",
        progress_field="process",
        created_field="create_time",
        ended_field="end_time",
        instance_field="",
        instance_id="instance_id",
        instance_name="instance_name",
        time_format="ms",
        page_size=50,
    ),
)

_DDS = Service(
    name="dds",
    title="DDS (Document Database Service)",
    listed=False,
    progress_field="progress",
    created_field="created",
    ended_field="ended",
    not_found_codes=frozenset({JOB_DOES_NOT_EXIST, RESOURCE_NOT_FOUND}),
    explicit_api_path="/v3",
    huawei=_huawei(
        "dds",
        "af-south-1 cn-north-4 cn-north-1 cn-east-2 cn-east-3 cn-south-1 cn-southwest-2 ap-southeast-2"
        " ap-southeast-1 ap-southeast-3 ru-northwest-2 cn-south-2 cn-north-2 na-mexico-1 la-north-2 sa-brazil-1"
        " la-south-2 cn-north-9 me-east-1 tr-west-1 ap-southeast-4 eu-west-0 my-kualalumpur-1 ru-moscow-1"
        " ae-ad-1 cn-east-5 cn-east-4 cn-north-12 af-north-1 ap-southeast-5 cn-north-11 cn-southwest-3 cn-south-4",
        {"eu-west-101": "https://dds.eu-west-101.myhuaweicloud.eu"},
    ),
    otc=_otc("dds", "eu-de"),
    sdk="huaweicloudsdkdds",
    # ListTasks at /v3.1: limit 1-100; start_time and end_time required, at most 30 days apart.
    list_call=ListCall(
        path="/v3.1/{project_id}/jobs",
        items="jobs",
        id_field="id",
        name_field="name",
        progress_field="progress",
        created_field="created_at",
        ended_field="ended_at",
        instance_field="",
        instance_id="instance_id",
        instance_name="instance_name",
        time_format="iso",
        page_size=100,
        window_required=True,
        max_span_days=30,
    ),
)

SERVICES: Mapping[str, Service] = MappingProxyType({s.name: s for s in (_MYSQL, _OPENGAUSS, _NOSQL, _RDS, _DDS)})
DEFAULT_SERVICE = _MYSQL.name
# Other names users may reach for; each is the same task center as the service it maps to.
ALIASES: Mapping[str, str] = MappingProxyType({"taurusdb": "gaussdb-mysql"})


def names() -> str:
    """The choices as messages and help list them: every service, then the aliases."""
    aliases = ", ".join(f"{alias} (= {name})" for alias, name in ALIASES.items())
    return ", ".join(SERVICES) + (f"; also {aliases}" if aliases else "")


def closest(name: str) -> str | None:
    """The service name or alias ``name`` most likely meant (a typo), or None: for "did you mean" hints."""
    match = difflib.get_close_matches(name.strip().lower(), [*SERVICES, *ALIASES], n=1)
    return match[0] if match else None


def lookup(name: str) -> Service:
    """The row for ``name`` (case-insensitive, aliases allowed); KeyError for anything else."""
    key = name.strip().lower()
    return SERVICES[ALIASES.get(key, key)]
