# stdlib: `config`, plain configuration data (keys to strings) for workloads.
# A sensitive value here is an error (E0402): use a `secret`.
# Conventions: see the header of service.stack.hcl.

component "config" {
  param "data" {
    type        = map(string)
    description = "Keys to values; mounted as one file per key or passed as env vars."
  }

  output "parameters" {
    type        = map(string)
    description = "aws: key -> SSM parameter ARN (null elsewhere)."
  }

  output "path" {
    type        = string
    description = "local: the directory with one file per key (null elsewhere)."
  }

  output "name" {
    type  = string
    value = self.dns_name
  }

  output "data" {
    type        = map(string)
    value       = param.data
    description = "The keys and values (local: env vars of workloads with `config_from`)."
  }

  # A ConfigMap (mounted with `config_mounts` or read with `config_from`).
  on "kubernetes" {
    resource "kubernetes_manifest" "config_map" {
      manifest = {
        apiVersion = "v1"
        kind       = "ConfigMap"
        metadata = {
          name      = self.dns_name
          namespace = target.namespace
          labels = {
            "app.kubernetes.io/name"       = self.dns_name
            "app.kubernetes.io/component"  = "config"
            "app.kubernetes.io/managed-by" = "stackc"
          }
        }
        data = param.data
      }
    }
  }

  # One SSM parameter per key.
  on "aws" {
    resource "aws_ssm_parameter" "value" {
      for_each = param.data
      name     = "/stackc/${self.stack}/${self.dns_name}/${each.key}"
      type     = "String"
      value    = each.value
    }

    output "parameters" {
      value = { for key, parameter in aws_ssm_parameter.value : key => parameter.arn }
    }
  }

  # One file per key in a directory bind-mounted into containers.
  on "local" {
    resource "local_file" "value" {
      for_each        = param.data
      path            = ".stackc/local/configs/${self.dns_name}/${each.key}"
      content         = each.value
      file_permission = "0644"
    }

    output "path" {
      value = ".stackc/local/configs/${self.dns_name}"
    }
  }
}
