# Gate Terraform resources on a GaussDB task-center job with `gaussdb-job wait`.
# Settings and credentials come from the environment (GAUSSDB_ENDPOINT or HW_REGION_NAME, HW_PROJECT_ID,
# HW_ACCESS_KEY/HW_SECRET_KEY, ...); `terraform_data` is built into Terraform, so this needs no provider download.

variable "job_id" {
  type        = string
  description = "The task-center job to wait for, e.g. the job_id a restart or resize returned."
}

variable "timeout" {
  type    = number
  default = 1800
}

resource "terraform_data" "job" {
  # A new job id replaces this resource, so the next apply waits for the new job.
  input = var.job_id

  provisioner "local-exec" {
    # Exits non-zero (and stops the apply) if the job fails, times out or cannot be read; the job's
    # fail_reason is printed on stderr. The final job is kept as JSON for the resources that follow.
    command = "gaussdb-job wait ${var.job_id} --timeout ${var.timeout} > job-${var.job_id}.json"
  }
}

resource "terraform_data" "app" {
  depends_on = [terraform_data.job]
  input      = var.job_id

  provisioner "local-exec" {
    # Runs only after the job completed: here it just records the job it waited for.
    command = "cp job-${var.job_id}.json app-deployed-after-job.json"
  }
}

output "job_id" {
  value = terraform_data.job.output
}
