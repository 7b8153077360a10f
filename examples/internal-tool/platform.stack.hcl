# What the platform team ships: their own `service`, replacing the stdlib's
# for every stack that includes this file, and a new `worker` kind.
# Developers keep writing `service "x" { ... }`; every workload then gets
# the company's labels (owning team, cost centre), a log-shipping sidecar,
# a disruption budget, and sensible resource requests, on the company's
# Kubernetes clusters (the only target this platform supports).

component "service" {
  param "image" {
    type = string
  }

  param "team" {
    type        = string
    description = "The owning team: on-call routing and cost reports."
  }

  param "cost_center" {
    type    = string
    default = "internal-tools"
  }

  param "replicas" {
    type    = number
    default = 2
    validation {
      condition = param.replicas >= 2
      message   = "Platform services run at least two replicas."
    }
  }

  param "port" {
    type    = port
    default = 8080
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

  # What the stdlib's `load_balancer` reads from its `to` service.
  output "name" {
    type  = string
    value = self.dns_name
  }

  output "port" {
    type  = number
    value = param.port
  }

  output "url" {
    type  = string
    value = "http://${self.dns_name}:${param.port}"
  }

  on "kubernetes" {
    resource "kubernetes_manifest" "deployment" {
      manifest = {
        apiVersion = "apps/v1"
        kind       = "Deployment"
        metadata = {
          name      = self.dns_name
          namespace = target.namespace
          labels = {
            "app.kubernetes.io/name"       = self.dns_name
            "app.kubernetes.io/component"  = "service"
            "app.kubernetes.io/managed-by" = "stackc"
            "example.com/team"             = param.team
            "example.com/cost-center"      = param.cost_center
          }
        }
        spec = {
          replicas = param.replicas
          selector = {
            matchLabels = {
              "app.kubernetes.io/name"      = self.dns_name
              "app.kubernetes.io/component" = "service"
            }
          }
          template = {
            metadata = {
              # The labels the stdlib's load_balancer selects on, plus ours.
              labels = {
                "app.kubernetes.io/name"      = self.dns_name
                "app.kubernetes.io/component" = "service"
                "example.com/team"            = param.team
              }
            }
            spec = {
              containers = [
                {
                  name  = self.dns_name
                  image = param.image
                  ports = [{ name = "http", containerPort = param.port }]
                  env = concat(
                    [for key, value in param.env : { name = key, value = value }],
                    [for key, secret in param.secret_env : {
                      name      = key
                      valueFrom = { secretKeyRef = { name = secret.name, key = "value" } }
                    }]
                  )
                  envFrom      = [for config in param.config_from : { configMapRef = { name = config.name } }]
                  volumeMounts = [{ name = "logs", mountPath = "/var/log/app" }]
                  resources = {
                    requests = { cpu = "100m", memory = "128Mi" }
                    limits   = { memory = "256Mi" }
                  }
                  readinessProbe = { httpGet = { path = "/healthz", port = param.port } }
                },
                {
                  name         = "log-shipper"
                  image        = "registry.example.com/platform/log-shipper:2.3.1"
                  args         = ["--source=/var/log/app", "--team=${param.team}"]
                  volumeMounts = [{ name = "logs", mountPath = "/var/log/app", readOnly = true }]
                  resources = {
                    requests = { cpu = "10m", memory = "32Mi" }
                    limits   = { memory = "64Mi" }
                  }
                },
              ]
              volumes = [{ name = "logs", emptyDir = {} }]
            }
          }
        }
      }
    }

    resource "kubernetes_manifest" "service" {
      manifest = {
        apiVersion = "v1"
        kind       = "Service"
        metadata = {
          name      = self.dns_name
          namespace = target.namespace
          labels    = { "example.com/team" = param.team }
        }
        spec = {
          selector = {
            "app.kubernetes.io/name"      = self.dns_name
            "app.kubernetes.io/component" = "service"
          }
          ports = [{ name = "http", port = param.port, targetPort = param.port }]
        }
      }
    }

    # Node drains never take every replica at once.
    resource "kubernetes_manifest" "disruption_budget" {
      manifest = {
        apiVersion = "policy/v1"
        kind       = "PodDisruptionBudget"
        metadata = {
          name      = self.dns_name
          namespace = target.namespace
          labels    = { "example.com/team" = param.team }
        }
        spec = {
          minAvailable = 1
          selector = {
            matchLabels = {
              "app.kubernetes.io/name"      = self.dns_name
              "app.kubernetes.io/component" = "service"
            }
          }
        }
      }
    }
  }
}

# A queue consumer: replicas and no port (nothing connects to it).
component "worker" {
  param "image" {
    type = string
  }

  param "team" {
    type = string
  }

  param "queue" {
    type        = string
    description = "The queue it consumes, e.g. \"reports\"."
  }

  param "concurrency" {
    type    = number
    default = 4
  }

  param "replicas" {
    type    = number
    default = 1
  }

  param "secret_env" {
    type    = map(secret)
    default = {}
  }

  output "name" {
    type  = string
    value = self.dns_name
  }

  on "kubernetes" {
    resource "kubernetes_manifest" "deployment" {
      manifest = {
        apiVersion = "apps/v1"
        kind       = "Deployment"
        metadata = {
          name      = self.dns_name
          namespace = target.namespace
          labels = {
            "app.kubernetes.io/name"       = self.dns_name
            "app.kubernetes.io/component"  = "worker"
            "app.kubernetes.io/managed-by" = "stackc"
            "example.com/team"             = param.team
          }
        }
        spec = {
          replicas = param.replicas
          selector = {
            matchLabels = {
              "app.kubernetes.io/name"      = self.dns_name
              "app.kubernetes.io/component" = "worker"
            }
          }
          template = {
            metadata = {
              labels = {
                "app.kubernetes.io/name"      = self.dns_name
                "app.kubernetes.io/component" = "worker"
                "example.com/team"            = param.team
              }
            }
            spec = {
              containers = [{
                name  = self.dns_name
                image = param.image
                env = concat(
                  [
                    { name = "QUEUE", value = param.queue },
                    { name = "CONCURRENCY", value = tostring(param.concurrency) },
                  ],
                  [for key, secret in param.secret_env : {
                    name      = key
                    valueFrom = { secretKeyRef = { name = secret.name, key = "value" } }
                  }]
                )
                resources = {
                  requests = { cpu = "250m", memory = "256Mi" }
                  limits   = { memory = "512Mi" }
                }
              }]
            }
          }
        }
      }
    }
  }
}
