component "service" {
  param "image" {
    type = string
  }
  param "replicas" {
    type    = number
    default = 2
  }
  output "name" {
    type  = string
    value = self.name
  }
  on "kubernetes" {
    resource "kubernetes_manifest" "deployment" {
      manifest = {
        apiVersion = "apps/v1"
        kind       = "Deployment"
        metadata   = { name = self.dns_name, namespace = target.namespace }
        spec = {
          replicas = param.replicas
          selector = { matchLabels = { app = self.dns_name } }
          template = {
            metadata = { labels = { app = self.dns_name } }
            spec     = { containers = [{ name = self.dns_name, image = param.image }] }
          }
        }
      }
    }
  }
}

service "api" {
  image = "registry.example.com/shop/api:1.4.2"
}

output "api_name" {
  value = service.api.name
}

target "kubernetes" {
  namespace = "ui"
}
