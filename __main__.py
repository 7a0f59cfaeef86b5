"""Example stack: wait for a GaussDB task-center job, then configure an application against the instance.

Config (``pulumi config set ...``):
- ``jobId`` (required): the task-center job to wait for, e.g. the id a restart or resize call returned;
- ``timeout`` (seconds, default 1800): how long ``pulumi up`` may wait for it;
- ``failOnError`` (default true): false records a Failed job instead of failing the update;
- ``gaussdb:endpoint``, ``gaussdb:projectId``, ``gaussdb:region``, ``gaussdb:apiPath`` and the credentials
  (``gaussdb:accessKey`` + ``--secret`` ``gaussdb:secretKey``, ...) are read by the provider itself, in the
  plugin process, so they never become resource inputs or state.
"""

import pulumi

from demo.appconfig import AppConfig
from provider import GaussDBJob

config = pulumi.Config()
gaussdb = pulumi.Config("gaussdb")

job = GaussDBJob(
    "restart-db",
    job_id=config.require("jobId"),
    timeout=config.get_float("timeout") or 1800,
    fail_on_error=config.get_bool("failOnError") is not False,
)

endpoint = job.entities.apply(lambda e: ((e or {}).get("instance") or {}).get("endpoint"))

# Gated on the job: created only once the job has Completed, with the endpoint the job reports.
app = AppConfig(
    "app-db-config",
    endpoint=endpoint,
    database=config.get("database") or "orders",
    opts=pulumi.ResourceOptions(depends_on=[job]),
)

pulumi.export("db_endpoint", endpoint)
pulumi.export("job_status", job.status)
pulumi.export("job_name", job.name)
pulumi.export("job_process", job.process)
pulumi.export("app_settings", app.settings)
pulumi.export("task_center", gaussdb.get("endpoint") or gaussdb.get("region") or "(from the environment)")
