# stdlib: `database`, a `stateful` preset per engine. Each instance gets its
# own volume. Conventions: see the header of service.stack.hcl.
#
# The url carries no credentials (so it can go in a plain env var); pass the
# password to clients with `secret_env`.

component "database" {
  param "engine" {
    type        = string
    default     = "postgres"
    description = "\"postgres\", \"mysql\" or \"redis\"."
    validation {
      condition = contains(["postgres", "mysql", "redis"], param.engine)
      message   = "engine is one of \"postgres\", \"mysql\", \"redis\"."
    }
  }

  param "version" {
    type        = string
    default     = null
    description = "Engine version (image tag); default: postgres 16, mysql 8.4, redis 7."
  }

  param "instances" {
    type    = number
    default = 1
    validation {
      condition = param.instances >= 1 && param.instances % 1 == 0
      message   = "instances must be a whole number, 1 or more."
    }
  }

  param "storage" {
    type        = quantity
    default     = "10Gi"
    description = "Size of each instance's volume."
  }

  param "storage_class" {
    type    = string
    default = null
  }

  param "password" {
    type        = secret
    default     = null
    description = "The administrator password, e.g. secret.db_password (a `secret` with `generate` is typical)."
  }

  param "database_name" {
    type        = string
    default     = null
    description = "Name of the database created at start; default: the instance name."
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

  param "instance_size" {
    type    = string
    default = "t3.small"
  }

  output "name" {
    type  = string
    value = self.name
  }

  output "host" {
    type        = string
    description = "Address of the primary instance."
  }

  output "port" {
    type  = number
    value = param.engine == "postgres" ? 5432 : (param.engine == "mysql" ? 3306 : 6379)
  }

  output "url" {
    type        = string
    description = "<engine>://host:port/database, without credentials."
  }
}
