# stdlib: `secret`, a sensitive value, given or generated.
# With `generate`, the value is created once at apply (a `random_password`
# resource of the built-in provider), kept in state as sensitive, and reused
# by every later plan. Conventions: see the header of service.stack.hcl.

component "secret" {
  param "value" {
    type        = sensitive(string)
    default     = null
    description = "The value, e.g. var.api_token; exactly one of value and generate."
  }

  param "generate" {
    type = object({
      length  = number
      special = optional(bool)
    })
    default     = null
    description = "Generate a random value of this length (special characters unless special = false)."
    validation {
      condition = param.generate == null ? true : (param.generate.length >= 8 && param.generate.length <= 1024)
      message   = "generate.length is between 8 and 1024."
    }
  }

  output "name" {
    type  = string
    value = self.dns_name
  }

  output "arn" {
    type        = string
    description = "aws: the Secrets Manager secret's ARN (null elsewhere)."
  }

  output "path" {
    type        = string
    description = "local: the directory holding the file `value` (null elsewhere)."
  }

  output "value" {
    type      = sensitive(string)
    sensitive = true
  }

  # A Secret with one key, `value`. A generated value comes from a
  # `random_password` (built-in provider), created once and kept in state.
  on "kubernetes" {
    resource "random_password" "value" {
      count   = param.generate == null ? 0 : 1
      length  = param.generate.length
      special = param.generate.special != null ? param.generate.special : true
    }

    resource "kubernetes_manifest" "secret" {
      manifest = {
        apiVersion = "v1"
        kind       = "Secret"
        metadata = {
          name      = self.dns_name
          namespace = target.namespace
          labels = {
            "app.kubernetes.io/name"       = self.dns_name
            "app.kubernetes.io/component"  = "secret"
            "app.kubernetes.io/managed-by" = "stackc"
          }
        }
        type       = "Opaque"
        stringData = { value = param.generate == null ? param.value : random_password.value[0].result }
      }
    }

    output "value" {
      value = param.generate == null ? param.value : random_password.value[0].result
    }
  }

  # Secrets Manager; a generated value comes from `random_password`.
  on "aws" {
    resource "random_password" "value" {
      count   = param.generate == null ? 0 : 1
      length  = param.generate.length
      special = param.generate.special != null ? param.generate.special : true
    }

    resource "aws_secretsmanager_secret" "main" {
      name                    = "stackc/${self.stack}/${self.dns_name}"
      recovery_window_in_days = 7
    }

    resource "aws_secretsmanager_secret_version" "main" {
      secret_id     = aws_secretsmanager_secret.main.id
      secret_string = param.generate == null ? param.value : random_password.value[0].result
    }

    output "value" {
      value = param.generate == null ? param.value : random_password.value[0].result
    }

    output "arn" {
      value = aws_secretsmanager_secret.main.arn
    }
  }

  # A file readable only by its owner, bind-mounted into containers.
  on "local" {
    resource "random_password" "value" {
      count   = param.generate == null ? 0 : 1
      length  = param.generate.length
      special = param.generate.special != null ? param.generate.special : true
    }

    resource "local_file" "value" {
      path              = ".stackc/local/secrets/${self.dns_name}/value"
      sensitive_content = param.generate == null ? param.value : random_password.value[0].result
      file_permission   = "0600"
    }

    output "value" {
      value = param.generate == null ? param.value : random_password.value[0].result
    }

    output "path" {
      value = ".stackc/local/secrets/${self.dns_name}"
    }
  }
}
