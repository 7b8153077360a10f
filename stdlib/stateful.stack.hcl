# stdlib: `stateful`, a workload with stable identity, ordered start and one
# volume per instance. Conventions: see the header of service.stack.hcl.

component "stateful" {
  param "image" {
    type = string
  }

  param "instances" {
    type        = number
    default     = 1
    description = "Number of instances; each gets its own volume and a stable name (<name>-0, <name>-1, ...)."
    validation {
      condition = param.instances >= 1 && param.instances % 1 == 0
      message   = "instances must be a whole number, 1 or more."
    }
  }

  param "port" {
    type    = port
    default = null
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

  param "config_mounts" {
    type    = map(config)
    default = {}
  }

  param "storage" {
    type        = quantity
    description = "Size of each instance's volume, e.g. \"20Gi\"."
  }

  param "storage_class" {
    type        = string
    default     = null
    description = "Storage class (kubernetes) or EBS volume type (aws, default gp3)."
  }

  param "mount_path" {
    type        = string
    default     = "/data"
    description = "Where each instance's volume is mounted."
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

  param "health" {
    type = object({
      path     = optional(string)
      port     = optional(port)
      interval = optional(duration)
    })
    default     = null
    description = "Health check: with a path an HTTP check, without one a TCP check on the port."
  }

  param "instance_size" {
    type        = string
    default     = "t3.small"
    description = "EC2 instance type on aws (ignored elsewhere)."
  }

  output "name" {
    type  = string
    value = self.name
  }

  output "host" {
    type        = string
    description = "The address of the first instance (the primary)."
  }

  output "hosts" {
    type        = list(string)
    description = "The address of every instance, in order."
  }

  output "port" {
    type  = number
    value = param.port
  }
}
