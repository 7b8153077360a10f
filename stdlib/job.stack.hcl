# stdlib: `job`, a container that runs to completion (once, or on a schedule).
# Conventions: see the header of service.stack.hcl.

component "job" {
  param "image" {
    type = string
  }

  param "command" {
    type    = list(string)
    default = null
  }

  param "env" {
    type    = map(string)
    default = {}
  }

  param "secret_env" {
    type    = map(secret)
    default = {}
  }

  param "config_from" {
    type    = list(config)
    default = []
  }

  param "schedule" {
    type        = string
    default     = null
    description = "Cron schedule (\"0 3 * * *\"); without one the job runs once per apply of a new version."
  }

  param "retries" {
    type    = number
    default = 3
    validation {
      condition = param.retries >= 0
      message   = "retries is 0 or more."
    }
  }

  param "resources" {
    type = object({
      cpu          = optional(quantity)
      memory       = optional(quantity)
      cpu_limit    = optional(quantity)
      memory_limit = optional(quantity)
    })
    default = null
  }

  output "name" {
    type  = string
    value = self.name
  }
}
