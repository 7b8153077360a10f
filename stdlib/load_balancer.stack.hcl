# stdlib: `load_balancer`, spreads requests over a service's replicas.
# Conventions: see the header of service.stack.hcl.

component "load_balancer" {
  param "port" {
    type        = port
    default     = 80
    description = "The port clients connect to."
  }

  param "to" {
    type        = service
    description = "The service receiving the traffic (its `port` must be set)."
  }

  param "protocol" {
    type        = string
    default     = "http"
    description = "\"http\" or \"tcp\"."
    validation {
      condition = contains(["http", "tcp"], param.protocol)
      message   = "protocol is \"http\" or \"tcp\"."
    }
  }

  param "health_path" {
    type        = string
    default     = null
    description = "Path the load balancer checks (aws target group); default: the service's health.path or \"/\"."
  }

  output "host" {
    type        = string
    description = "The public host name or address (known after apply on aws and kubernetes)."
  }

  output "url" {
    type        = string
    description = "<protocol>://host:port."
  }

  # A Service of type LoadBalancer selecting the target service's pods.
  on "kubernetes" {
    resource "kubernetes_manifest" "service" {
      manifest = {
        apiVersion = "v1"
        kind       = "Service"
        metadata = {
          name      = "${self.name}-lb"
          namespace = target.namespace
          labels = {
            "app.kubernetes.io/name"       = self.name
            "app.kubernetes.io/component"  = "load_balancer"
            "app.kubernetes.io/managed-by" = "stackc"
          }
        }
        spec = {
          type = "LoadBalancer"
          selector = {
            "app.kubernetes.io/name"      = param.to.name
            "app.kubernetes.io/component" = "service"
          }
          ports = [{ name = param.protocol, port = param.port, targetPort = param.to.port, protocol = "TCP" }]
        }
      }
    }

    output "host" {
      value = kubernetes_manifest.service.object.status.loadBalancer.ingress[0].hostname
    }

    output "url" {
      value = "${param.protocol}://${kubernetes_manifest.service.object.status.loadBalancer.ingress[0].hostname}:${param.port}"
    }
  }
}
