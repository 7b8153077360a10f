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
    value = self.dns_name
  }

  # A Job, or a CronJob when `schedule` is set.
  on "kubernetes" {
    resource "kubernetes_manifest" "job" {
      count = param.schedule == null ? 1 : 0
      manifest = {
        apiVersion = "batch/v1"
        kind       = "Job"
        metadata = {
          name      = self.dns_name
          namespace = target.namespace
          labels = {
            "app.kubernetes.io/name"       = self.dns_name
            "app.kubernetes.io/component"  = "job"
            "app.kubernetes.io/managed-by" = "stackc"
          }
        }
        spec = {
          backoffLimit = param.retries
          template = {
            metadata = { labels = { "app.kubernetes.io/name" = self.dns_name, "app.kubernetes.io/component" = "job" } }
            spec = {
              restartPolicy = "Never"
              containers = [{
                name    = self.dns_name
                image   = param.image
                command = param.command
                env = concat(
                  [for key, value in param.env : { name = key, value = value }],
                  [for key, secret in param.secret_env : {
                    name      = key
                    valueFrom = { secretKeyRef = { name = secret.name, key = "value" } }
                  }]
                )
                envFrom = [for config in param.config_from : { configMapRef = { name = config.name } }]
              }]
            }
          }
        }
      }
    }

    resource "kubernetes_manifest" "cron_job" {
      count = param.schedule == null ? 0 : 1
      manifest = {
        apiVersion = "batch/v1"
        kind       = "CronJob"
        metadata = {
          name      = self.dns_name
          namespace = target.namespace
          labels = {
            "app.kubernetes.io/name"       = self.dns_name
            "app.kubernetes.io/component"  = "job"
            "app.kubernetes.io/managed-by" = "stackc"
          }
        }
        spec = {
          schedule = param.schedule
          jobTemplate = {
            spec = {
              backoffLimit = param.retries
              template = {
                metadata = { labels = { "app.kubernetes.io/name" = self.dns_name, "app.kubernetes.io/component" = "job" } }
                spec = {
                  restartPolicy = "Never"
                  containers = [{
                    name    = self.dns_name
                    image   = param.image
                    command = param.command
                    env = concat(
                      [for key, value in param.env : { name = key, value = value }],
                      [for key, secret in param.secret_env : {
                        name      = key
                        valueFrom = { secretKeyRef = { name = secret.name, key = "value" } }
                      }]
                    )
                    envFrom = [for config in param.config_from : { configMapRef = { name = config.name } }]
                  }]
                }
              }
            }
          }
        }
      }
    }
  }
}
