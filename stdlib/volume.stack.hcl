# stdlib: `volume`, persistent storage that outlives containers.
# Conventions: see the header of service.stack.hcl.

component "volume" {
  param "size" {
    type        = quantity
    description = "e.g. \"20Gi\"."
  }

  param "storage_class" {
    type        = string
    default     = null
    description = "Storage class (kubernetes) or EBS volume type (aws, default gp3)."
  }

  param "access" {
    type        = string
    default     = "ReadWriteOnce"
    description = "\"ReadWriteOnce\" or \"ReadWriteMany\" (kubernetes); a volume attaches to one VM on aws."
    validation {
      condition = contains(["ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany"], param.access)
      message   = "access is \"ReadWriteOnce\", \"ReadWriteMany\" or \"ReadOnlyMany\"."
    }
  }

  output "name" {
    type  = string
    value = self.dns_name
  }

  output "id" {
    type        = string
    description = "The provider's id of the volume (known after apply)."
  }

  # A PersistentVolumeClaim.
  on "kubernetes" {
    resource "kubernetes_manifest" "claim" {
      manifest = {
        apiVersion = "v1"
        kind       = "PersistentVolumeClaim"
        metadata = {
          name      = self.dns_name
          namespace = target.namespace
          labels = {
            "app.kubernetes.io/name"       = self.dns_name
            "app.kubernetes.io/component"  = "volume"
            "app.kubernetes.io/managed-by" = "stackc"
          }
        }
        spec = {
          accessModes      = [param.access]
          storageClassName = param.storage_class
          resources        = { requests = { storage = param.size } }
        }
      }
    }

    output "id" {
      value = kubernetes_manifest.claim.uid
    }
  }

  # An EBS volume in the stack's first zone (sizes in Gi).
  on "aws" {
    resource "aws_ebs_volume" "main" {
      availability_zone = network.availability_zones[0]
      size              = tonumber(replace(param.size, "Gi", ""))
      type              = param.storage_class != null ? param.storage_class : "gp3"
      encrypted         = true
      tags              = { Name = self.dns_name, "managed-by" = "stackc" }
    }

    output "id" {
      value = aws_ebs_volume.main.id
    }
  }

  # A named Docker volume.
  on "local" {
    resource "docker_volume" "main" {
      name   = "${self.stack}-${self.dns_name}"
      labels = { "managed-by" = "stackc" }
    }

    output "id" {
      value = docker_volume.main.id
    }
  }
}
