# stdlib: `config`, plain configuration data (keys to strings) for workloads.
# A sensitive value here is an error (E0402): use a `secret`.
# Conventions: see the header of service.stack.hcl.

component "config" {
  param "data" {
    type        = map(string)
    description = "Keys to values; mounted as one file per key or passed as env vars."
  }

  output "name" {
    type  = string
    value = self.name
  }

  # A ConfigMap (mounted with `config_mounts` or read with `config_from`).
  on "kubernetes" {
    resource "kubernetes_manifest" "config_map" {
      manifest = {
        apiVersion = "v1"
        kind       = "ConfigMap"
        metadata = {
          name      = self.name
          namespace = target.namespace
          labels = {
            "app.kubernetes.io/name"       = self.name
            "app.kubernetes.io/component"  = "config"
            "app.kubernetes.io/managed-by" = "stackc"
          }
        }
        data = param.data
      }
    }
  }
}
