# Gate Terraform resources on a GaussDB task-center job with `gaussdb-job wait`.
#
#   export PATH="/path/to/gaussdb-job/.venv/bin:$PATH"     # gaussdb-job must be on PATH
#   export HW_PROJECT_ID=... HW_REGION_NAME=eu-de HW_ACCESS_KEY=... HW_SECRET_KEY=...
#   terraform init
#   terraform apply -var job_id=a9767ede-fe0f-4888-9003-e843a4c90514
#   terraform output -json job        # the job's fields, from job.json (written by the gate)
#
# Settings and credentials come from the environment Terraform runs in; `terraform_data` is built into Terraform
# (1.4+), so this needs no provider download.

variable "job_id" {
  type        = string
  description = "The task-center job to wait for, e.g. the job_id a restart or resize returned."
}

variable "timeout" {
  type        = string
  default     = "30m"
  description = "How long to wait: seconds or a duration such as 90s, 10m, 1h30m."
}

resource "terraform_data" "job" {
  # A new job id replaces this resource, and the provisioner runs only when it is created: every new id is a
  # new wait. (`input` alone would not do it: a changed input is an in-place update, which runs no provisioner.)
  triggers_replace = [var.job_id]
  input            = var.job_id

  provisioner "local-exec" {
    # Exits non-zero if the job fails, times out or cannot be read: the apply stops there, the new instance of
    # this resource is tainted (the next apply waits again) and nothing that depends on it is touched. Progress
    # and the fail_reason go to the apply log (stderr). The job's fields (gaussdb-job's JSON list) go to
    # job.next.json, renamed job.json only when the wait succeeded: job.json always holds the last job that
    # completed, job.next.json the attempt that did not.
    command = "gaussdb-job wait ${var.job_id} --timeout ${var.timeout} --progress plain > ${path.module}/job.next.json && mv ${path.module}/job.next.json ${path.module}/job.json"
  }
}

resource "terraform_data" "app" {
  # Stands for whatever must wait for the job (a deployment, a DNS record...): it is replaced only once the new
  # job completed, since it reads the job resource's output.
  triggers_replace = [terraform_data.job.output]
  input            = terraform_data.job.output

  # Create the replacement before destroying this one. Without it Terraform destroys the downstream first, then
  # waits for the new job: a failed or slow job would leave nothing deployed. With it (Terraform makes the job
  # resource create-before-destroy too) a failed job stops the apply with the downstream still in place.
  lifecycle {
    create_before_destroy = true
  }

  provisioner "local-exec" {
    command = "echo deploying after job ${self.input}"
  }
}

output "job_id" {
  description = "The last job waited for that completed: what the downstream was deployed after."
  value       = terraform_data.app.output
}

output "job" {
  description = "The fields of the last job that completed (name, status, created, ended, instance, entities...)."
  # file() is read when the expression is evaluated. timestamp() is unknown until apply, so the condition makes
  # this evaluated during the apply, after the downstream (depends_on), instead of at plan time, when job.json
  # still holds the previous job. The two branches must differ (" [null]" against "[null]"), or Terraform knows
  # the result at plan time after all. A plan shows it as "known after apply"; null before any job completed.
  value      = jsondecode(timestamp() == "" ? " [null]" : try(file("${path.module}/job.json"), "[null]"))[0]
  depends_on = [terraform_data.app]
}
