# stdlib: `service`, a stateless, replicated workload.
#
# ---------------------------------------------------------------------------
# Conventions of the stdlib component files (the front end and expansion rely
# on them; a user's own `component` follows the same rules):
#
# * `param "x" { type = T  default = V  description = "..." }`. A param with a
#   `default` (even `default = null`) may be omitted by the instance; one
#   without is required (E0302 when missing).
# * Nested blocks are object-typed params. A param of object type may be
#   written by the instance either as a block or as an attribute:
#       health { path = "/healthz" }      ==   health = { path = "/healthz" }
#   Object fields declared `optional(T)` may be left out and are then null;
#   the component body supplies defaults with `coalesce(...)` or conditionals.
#   A block for a param that is not of object type (or an attribute and a block
#   for the same param) is an error. Only one block per param.
# * `validation { condition = <bool expr over param.*>  message = "..." }`
#   inside a param, as for variables: run when the value is known. Conditions
#   guard optional params with `||` / `&&`, which short-circuit as HCL's do
#   (`param.x == null || param.x.min >= 1`: the right side is not evaluated
#   when the left decides), or with a conditional (`param.x == null ? true :
#   ...`); both sides' types are checked either way.
# * References to other instances are typed by the component kind:
#   `type = service` accepts `service.api` and nothing else; `list(config)`,
#   `map(secret)` and `optional(volume)` work as usual.
# * `output "x" { type = T  value = <expr>  sensitive = true }` at component
#   level. `value` may be omitted at component level when every `on "<target>"`
#   block of the component gives it (`on "aws" { output "x" { value = ... } }`);
#   the declared type is what the checker uses for `<kind>.<name>.x`.
# * Inside a component: `param.<name>`; `self.name` is the instance's label
#   (`"api"` in `service "api" {}`), `self.dns_name` the same made valid as a
#   DNS label (lowercase, `_` -> `-`; use it for object and host names),
#   `self.target` the selected target's name,
#   and `target.<attr>` the selected target block's attributes
#   (`target.namespace`, `target.region`, `target.ami`, `target.network`,
#   `target.context`, `target.host`; null when not set). `network.<output>`
#   reads the stack's implicit `network.main` instance (network.stack.hcl).
#   Resource blocks see `count.index` / `each.key` / `each.value`, and the
#   body's resources as `<type>.<name>.<attr>` (computed ones unknown until
#   apply). Component bodies do not see `var.*` or `local.*`: pass values in
#   as params.
# * Per-target bodies: `on "<target>" { resource "<type>" "<name>" { ... } }`
#   (with `count` / `for_each`), nested component instances, and outputs.
#   A component with no `on` block for the selected target (e.g. `vm` on
#   kubernetes) is reported at the instance's span as E0501 naming the target.
#   Outputs inside an `on` block override the component-level ones.
# * Kubernetes objects are `kubernetes_manifest` resources; null fields of a
#   manifest are left out when it is written, so optional fields are written
#   `field = cond ? value : null`. Every workload's pods carry the labels
#   `app.kubernetes.io/name = <instance name>` and
#   `app.kubernetes.io/component = <component kind>`; Services select on both.
# ---------------------------------------------------------------------------

component "service" {
  param "image" {
    type        = string
    description = "Container image reference, e.g. registry.example.com/shop/api:1.4.2."
  }

  param "build" {
    type        = string
    default     = null
    description = "local: a directory of the stack with a Dockerfile; the image is built from it (tagged by a hash of its files, so an unchanged directory is not rebuilt) and used instead of `image`. Other targets run `image`: build and push it yourself."
  }

  param "replicas" {
    type        = number
    default     = 1
    description = "Number of copies. With `autoscale`, the initial count (autoscale.min wins if larger)."
    validation {
      condition = param.replicas >= 0 && param.replicas % 1 == 0
      message   = "replicas must be a whole number, 0 or more."
    }
  }

  param "port" {
    type        = port
    default     = null
    description = "The port the container listens on; required when a load_balancer points at it."
  }

  param "command" {
    type        = list(string)
    default     = null
    description = "Overrides the image's entrypoint and arguments."
  }

  param "env" {
    type        = map(string)
    default     = {}
    description = "Plain environment variables. Secrets go in secret_env."
  }

  param "secret_env" {
    type        = map(secret)
    default     = {}
    description = "Environment variables read from secrets: { DB_PASSWORD = secret.db_password }."
  }

  param "config_from" {
    type        = list(config)
    default     = []
    description = "Configs whose every key becomes an environment variable."
  }

  param "config_mounts" {
    type        = map(config)
    default     = {}
    description = "Configs mounted as files, keyed by directory: { \"/etc/api\" = config.api }."
  }

  param "secret_mounts" {
    type        = map(secret)
    default     = {}
    description = "Secrets mounted as a file named `value`, keyed by directory."
  }

  param "volumes" {
    type        = map(volume)
    default     = {}
    description = "Volumes mounted by directory: { \"/data\" = volume.uploads }."
  }

  param "resources" {
    type = object({
      cpu          = optional(quantity)
      memory       = optional(quantity)
      cpu_limit    = optional(quantity)
      memory_limit = optional(quantity)
    })
    default     = null
    description = "Requests (cpu, memory) and limits (default: memory_limit = memory, no cpu limit)."
  }

  param "health" {
    type = object({
      path     = optional(string)
      port     = optional(port)
      interval = optional(duration)
    })
    default     = null
    description = "HTTP health check: path (default \"/\"), port (default: the service port), interval in whole seconds (default \"10s\")."
  }

  param "autoscale" {
    type = object({
      min               = number
      max               = number
      cpu_target        = optional(number)
      memory_target     = optional(number)
      tolerance         = optional(number)
      scale_down_window = optional(duration)
      scale_up_window   = optional(duration)
    })
    default     = null
    description = "Autoscaling between min and max replicas, as Kubernetes' HorizontalPodAutoscaler does it: desired = ceil(replicas * mean utilisation / target), the largest over the metrics. cpu_target and memory_target are percentages of each replica's CPU and memory (of its limit on local; of its request on kubernetes); cpu_target defaults to 80 unless only memory_target is set. tolerance (default 0.1): no change while the ratio of utilisation to target is within 1 +/- tolerance. scale_down_window (default \"300s\") and scale_up_window (default \"0s\"), in whole seconds up to \"3600s\": a scale-down (up) follows the highest (lowest) count recommended within that window. On aws the windows are the policies' scale-in and scale-out cooldowns and the tolerance is AWS's own. On local, `stackc reconcile` measures and scales; the count it chose is kept in the state."
    validation {
      condition = param.autoscale == null ? true : (param.autoscale.min >= 1 && param.autoscale.max >= param.autoscale.min)
      message   = "autoscale needs 1 <= min <= max."
    }

    validation {
      condition = param.autoscale == null ? true : (param.autoscale.min % 1 == 0 && param.autoscale.max % 1 == 0)
      message   = "autoscale.min and autoscale.max are whole numbers of replicas."
    }

    validation {
      condition = param.autoscale == null ? true : (param.autoscale.cpu_target == null ? true : (param.autoscale.cpu_target > 0 && param.autoscale.cpu_target <= 100))
      message   = "autoscale.cpu_target is a percentage between 1 and 100."
    }

    validation {
      condition = param.autoscale == null ? true : (param.autoscale.memory_target == null ? true : (param.autoscale.memory_target > 0 && param.autoscale.memory_target <= 100))
      message   = "autoscale.memory_target is a percentage between 1 and 100."
    }

    validation {
      condition = param.autoscale == null ? true : (param.autoscale.tolerance == null ? true : (param.autoscale.tolerance >= 0 && param.autoscale.tolerance < 1))
      message   = "autoscale.tolerance is a fraction of the target, 0 or more and less than 1 (0.1 = 10%)."
    }

    validation {
      condition = param.autoscale == null ? true : (param.autoscale.scale_down_window == null ? true : (endswith(param.autoscale.scale_down_window, "s") && !endswith(param.autoscale.scale_down_window, "ms") && can(tonumber(trimsuffix(param.autoscale.scale_down_window, "s"))) ? (tonumber(trimsuffix(param.autoscale.scale_down_window, "s")) % 1 == 0 && tonumber(trimsuffix(param.autoscale.scale_down_window, "s")) <= 3600) : false))
      message   = "autoscale.scale_down_window is a whole number of seconds from \"0s\" to \"3600s\" (e.g. \"300s\"), as the HorizontalPodAutoscaler's stabilizationWindowSeconds."
    }

    validation {
      condition = param.autoscale == null ? true : (param.autoscale.scale_up_window == null ? true : (endswith(param.autoscale.scale_up_window, "s") && !endswith(param.autoscale.scale_up_window, "ms") && can(tonumber(trimsuffix(param.autoscale.scale_up_window, "s"))) ? (tonumber(trimsuffix(param.autoscale.scale_up_window, "s")) % 1 == 0 && tonumber(trimsuffix(param.autoscale.scale_up_window, "s")) <= 3600) : false))
      message   = "autoscale.scale_up_window is a whole number of seconds from \"0s\" to \"3600s\" (e.g. \"60s\"), as the HorizontalPodAutoscaler's stabilizationWindowSeconds."
    }
  }

  param "rollout" {
    type = object({
      strategy        = optional(string)
      steps           = optional(list(number))
      max_surge       = optional(string)
      max_unavailable = optional(string)
      gate            = optional(duration)
      timeout         = optional(duration)
      pause           = optional(string)
      keep            = optional(duration)
      max_error_rate  = optional(number)
    })
    default     = null
    description = "How a new version (image, command, env, configs or secrets it reads) rolls out, as steps `stackc apply` carries out on local and aws (docs/rollouts.md): strategy \"rolling\" (default: batches of max_surge / max_unavailable), \"canary\" (the new version beside the stable one, receiving each of `steps` percent of the requests; default [10, 50, 100]) or \"blue_green\" (the whole new set started, then traffic switched at once; the old set kept for `keep`, or until the next apply, for `stackc rollout undo`). Each step waits for the new replicas to be healthy for `gate` (default \"30s\") within `timeout` (default \"300s\"), and at most `max_error_rate` percent of failed requests where the target can measure it, then pauses `pause` (a duration, default \"0s\", or \"promote\": until `stackc rollout promote`). A failed gate rolls back. On kubernetes the manifests carry it (docs/rollouts-kubernetes.md)."
    validation {
      condition = param.rollout == null ? true : (param.rollout.strategy == null ? true : contains(["rolling", "canary", "blue_green"], param.rollout.strategy))
      message   = "rollout.strategy is one of \"rolling\", \"canary\", \"blue_green\"."
    }

    validation {
      condition = param.rollout == null ? true : (param.rollout.steps == null ? true : (length(param.rollout.steps) >= 1 && alltrue([for step in param.rollout.steps : step >= 1 && step <= 100]) && param.rollout.steps[length(param.rollout.steps) - 1] == 100))
      message   = "rollout.steps are traffic percentages from 1 to 100, the last one 100 (e.g. [10, 50, 100])."
    }

    validation {
      condition = param.rollout == null ? true : (param.rollout.steps == null ? true : alltrue([for i, step in param.rollout.steps : i == 0 ? true : step > param.rollout.steps[i - 1]]))
      message   = "rollout.steps increase: each step sends more of the requests to the new version than the one before."
    }

    validation {
      condition = param.rollout == null ? true : (param.rollout.max_error_rate == null ? true : (param.rollout.max_error_rate >= 0 && param.rollout.max_error_rate <= 100))
      message   = "rollout.max_error_rate is a percentage of the requests, from 0 to 100."
    }
  }

  output "name" {
    type  = string
    value = self.dns_name
  }

  output "host" {
    type        = string
    value       = self.dns_name
    description = "The name other workloads of the stack reach it by (a DNS name on every target)."
  }

  output "port" {
    type  = number
    value = param.port
  }

  output "target_group_arn" {
    type        = string
    description = "aws: the target group load balancers forward to (null elsewhere or without a port)."
  }

  output "replicas" {
    type        = number
    value       = param.autoscale == null ? param.replicas : param.autoscale.min
    description = "The number of replicas started (with autoscale: autoscale.min; on local, the count the autoscaler chose)."
  }

  output "backends" {
    type        = list(string)
    description = "local: the host name of each replica in the stack's network, for load balancers (null elsewhere)."
  }

  output "url" {
    type        = string
    value       = param.port == null ? null : "http://${self.dns_name}:${param.port}"
    description = "http://host:port inside the stack's network (null without a port)."
  }

  output "rollout_weight" {
    type        = number
    value       = self.rollout == null ? null : self.rollout.weight
    description = "During a rollout step, the percent of requests the new version receives (null when no rollout is under way): for load balancers."
  }

  output "canary_backends" {
    type        = list(string)
    value       = null
    description = "local: during a rollout step, the host name of each replica of the new version (null elsewhere, or when no rollout is under way)."
  }

  output "canary_target_group_arn" {
    type        = string
    value       = null
    description = "aws: during a rollout step, the target group of the new version's service (null elsewhere, or when no rollout is under way)."
  }

  # Deployment + Service (when a port is set) + HorizontalPodAutoscaler (when
  # autoscale is set: the Deployment then has no replica count of its own).
  #
  # Rollouts (docs/rollouts-kubernetes.md): stackc writes manifests here and
  # carries out no step, so each strategy is what the objects themselves do.
  # rolling and blue_green: the Deployment's RollingUpdate (blue_green: the
  # whole new set surges in before old pods stop). canary: a second
  # Deployment, `<name>-canary`, beside the stable one and behind the same
  # Service, the replicas split in the first step's proportion (at least one
  # canary pod; the total is `replicas`, or autoscale.min). The two select
  # their pods by a `track` label (stable/canary) so their selectors never
  # overlap; the Service and load balancers select on the shared labels, so
  # they reach both. Both run the stack's image: the user applies the canary's
  # file first to try a new version on it. With autoscale the HPA scales the
  # stable Deployment only (its bounds less the canary's pods): a fixed canary
  # keeps a regression from scaling up its own share of the traffic. The
  # `stackc/rollout` annotations let `stackc build` say what the files do.
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
            track                          = param.rollout == null ? null : (param.rollout.strategy == "canary" ? "stable" : null)
          }
          annotations = param.rollout == null ? null : {
            "stackc/rollout"       = param.rollout.strategy != null ? param.rollout.strategy : "rolling"
            "stackc/rollout-steps" = param.rollout.strategy != "canary" ? null : join(",", [for step in (param.rollout.steps != null ? param.rollout.steps : [10, 50, 100]) : tostring(step)])
          }
        }
        spec = {
          # canary: the stable share of the replicas (at least one).
          replicas = param.autoscale != null ? null : (
            param.rollout == null ? param.replicas : (
              param.rollout.strategy != "canary" || param.replicas == 0 ? param.replicas : max(1, param.replicas - max(1, ceil(param.replicas * try(param.rollout.steps[0], 10) / 100)))
            )
          )
          selector = {
            matchLabels = {
              "app.kubernetes.io/name"      = self.dns_name
              "app.kubernetes.io/component" = "service"
              track                         = param.rollout == null ? null : (param.rollout.strategy == "canary" ? "stable" : null)
            }
          }
          # Explicit whenever the stack sets a rollout. A count ("1") is an
          # integer to Kubernetes, a percentage ("25%") a string. rolling:
          # Kubernetes' own defaults; blue_green: the whole new set before any
          # old pod stops; canary: the stable Deployment's own update (when
          # its file is applied after the canary's) keeps every pod serving.
          strategy = param.rollout == null ? null : {
            type = "RollingUpdate"
            rollingUpdate = {
              maxSurge = param.rollout.max_surge != null ? (endswith(param.rollout.max_surge, "%") ? param.rollout.max_surge : tonumber(param.rollout.max_surge)) : (
                param.rollout.strategy == "blue_green" ? "100%" : "25%"
              )
              maxUnavailable = param.rollout.max_unavailable != null ? (endswith(param.rollout.max_unavailable, "%") ? param.rollout.max_unavailable : tonumber(param.rollout.max_unavailable)) : (
                param.rollout.strategy == "blue_green" || param.rollout.strategy == "canary" ? "0%" : "25%"
              )
            }
          }
          template = {
            metadata = {
              labels = {
                "app.kubernetes.io/name"      = self.dns_name
                "app.kubernetes.io/component" = "service"
                track                         = param.rollout == null ? null : (param.rollout.strategy == "canary" ? "stable" : null)
              }
            }
            spec = {
              containers = [{
                name    = self.dns_name
                image   = param.image
                command = param.command
                ports   = param.port == null ? null : [{ name = "http", containerPort = param.port }]
                env = concat(
                  [for key, value in param.env : { name = key, value = value }],
                  [for key, secret in param.secret_env : {
                    name      = key
                    valueFrom = { secretKeyRef = { name = secret.name, key = "value" } }
                  }]
                )
                envFrom = [for config in param.config_from : { configMapRef = { name = config.name } }]
                volumeMounts = concat(
                  [for path, config in param.config_mounts : { name = "config-${config.name}", mountPath = path, readOnly = true }],
                  [for path, secret in param.secret_mounts : { name = "secret-${secret.name}", mountPath = path, readOnly = true }],
                  [for path, volume in param.volumes : { name = "volume-${volume.name}", mountPath = path }]
                )
                resources = param.resources == null ? null : {
                  requests = {
                    cpu    = param.resources.cpu
                    memory = param.resources.memory
                  }
                  limits = {
                    cpu    = param.resources.cpu_limit
                    memory = param.resources.memory_limit != null ? param.resources.memory_limit : param.resources.memory
                  }
                }
                readinessProbe = param.health == null ? null : {
                  httpGet = {
                    path = param.health.path != null ? param.health.path : "/"
                    port = param.health.port != null ? param.health.port : param.port
                  }
                  periodSeconds = param.health.interval != null ? tonumber(replace(param.health.interval, "s", "")) : 10
                }
                livenessProbe = param.health == null ? null : {
                  httpGet = {
                    path = param.health.path != null ? param.health.path : "/"
                    port = param.health.port != null ? param.health.port : param.port
                  }
                  periodSeconds    = param.health.interval != null ? tonumber(replace(param.health.interval, "s", "")) : 10
                  failureThreshold = 3
                }
              }]
              # One volume per object, however many paths mount it: the API
              # server refuses two volumes of one name.
              volumes = concat(
                [for name in distinct([for path, config in param.config_mounts : config.name]) : { name = "config-${name}", configMap = { name = name } }],
                [for name in distinct([for path, secret in param.secret_mounts : secret.name]) : { name = "secret-${name}", secret = { secretName = name } }],
                [for name in distinct([for path, volume in param.volumes : volume.name]) : { name = "volume-${name}", persistentVolumeClaim = { claimName = name } }]
              )
            }
          }
        }
      }
    }

    # canary: the stable Deployment with another name, `track = "canary"` and
    # the canary's share of the replicas (of autoscale.min with autoscale).
    resource "kubernetes_manifest" "canary" {
      count = param.rollout == null ? 0 : (param.rollout.strategy == "canary" ? 1 : 0)
      manifest = merge(kubernetes_manifest.deployment.manifest, {
        metadata = merge(kubernetes_manifest.deployment.manifest.metadata, {
          name   = "${self.dns_name}-canary"
          labels = merge(kubernetes_manifest.deployment.manifest.metadata.labels, { track = "canary" })
        })
        spec = merge(kubernetes_manifest.deployment.manifest.spec, {
          replicas = (param.autoscale == null ? param.replicas : param.autoscale.min) == 0 ? 0 : max(1, ceil((param.autoscale == null ? param.replicas : param.autoscale.min) * try(param.rollout.steps[0], 10) / 100))
          selector = { matchLabels = merge(kubernetes_manifest.deployment.manifest.spec.selector.matchLabels, { track = "canary" }) }
          template = merge(kubernetes_manifest.deployment.manifest.spec.template, {
            metadata = merge(kubernetes_manifest.deployment.manifest.spec.template.metadata, {
              labels = merge(kubernetes_manifest.deployment.manifest.spec.template.metadata.labels, { track = "canary" })
            })
          })
        })
      })
    }

    resource "kubernetes_manifest" "service" {
      count = param.port == null ? 0 : 1
      manifest = {
        apiVersion = "v1"
        kind       = "Service"
        metadata = {
          name      = self.dns_name
          namespace = target.namespace
          labels = {
            "app.kubernetes.io/name"       = self.dns_name
            "app.kubernetes.io/component"  = "service"
            "app.kubernetes.io/managed-by" = "stackc"
          }
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

    resource "kubernetes_manifest" "autoscaler" {
      count = param.autoscale == null ? 0 : 1
      manifest = {
        apiVersion = "autoscaling/v2"
        kind       = "HorizontalPodAutoscaler"
        metadata = {
          name      = self.dns_name
          namespace = target.namespace
          labels = {
            "app.kubernetes.io/name"       = self.dns_name
            "app.kubernetes.io/component"  = "service"
            "app.kubernetes.io/managed-by" = "stackc"
          }
        }
        spec = {
          scaleTargetRef = { apiVersion = "apps/v1", kind = "Deployment", name = self.dns_name }
          # canary: the stable Deployment's bounds, less the canary's pods.
          minReplicas = param.rollout == null ? param.autoscale.min : (param.rollout.strategy != "canary" ? param.autoscale.min : max(1, param.autoscale.min - max(1, ceil(param.autoscale.min * try(param.rollout.steps[0], 10) / 100))))
          maxReplicas = param.rollout == null ? param.autoscale.max : (param.rollout.strategy != "canary" ? param.autoscale.max : max(1, param.autoscale.min - max(1, ceil(param.autoscale.min * try(param.rollout.steps[0], 10) / 100)), param.autoscale.max - max(1, ceil(param.autoscale.min * try(param.rollout.steps[0], 10) / 100))))
          metrics = concat(
            param.autoscale.cpu_target == null && param.autoscale.memory_target != null ? [] : [{
              type = "Resource"
              resource = {
                name   = "cpu"
                target = { type = "Utilization", averageUtilization = param.autoscale.cpu_target != null ? param.autoscale.cpu_target : 80 }
              }
            }],
            param.autoscale.memory_target == null ? [] : [{
              type = "Resource"
              resource = {
                name   = "memory"
                target = { type = "Utilization", averageUtilization = param.autoscale.memory_target }
              }
            }]
          )
          # Written only when the stack sets a knob: the HPA's defaults are the same.
          behavior = param.autoscale.tolerance == null && param.autoscale.scale_down_window == null && param.autoscale.scale_up_window == null ? null : {
            scaleDown = {
              stabilizationWindowSeconds = param.autoscale.scale_down_window != null ? tonumber(trimsuffix(param.autoscale.scale_down_window, "s")) : 300
              tolerance                  = param.autoscale.tolerance != null ? tostring(param.autoscale.tolerance) : null
            }
            scaleUp = {
              stabilizationWindowSeconds = param.autoscale.scale_up_window != null ? tonumber(trimsuffix(param.autoscale.scale_up_window, "s")) : 0
              tolerance                  = param.autoscale.tolerance != null ? tostring(param.autoscale.tolerance) : null
            }
          }
        }
      }
    }
  }

  # ECS (Fargate) task definition + service with the desired count, a target
  # group for load balancers, and Application Auto Scaling on CPU.
  on "aws" {
    resource "aws_ecs_task_definition" "main" {
      family                   = "${self.stack}-${self.dns_name}"
      network_mode             = "awsvpc"
      requires_compatibilities = ["FARGATE"]
      cpu                      = "256"
      memory                   = "512"
      execution_role_arn       = network.execution_role_arn
      container_definitions = jsonencode([{
        name         = self.dns_name
        image        = param.image
        essential    = true
        command      = param.command
        portMappings = param.port == null ? [] : [{ containerPort = param.port, protocol = "tcp" }]
        environment  = [for key, value in param.env : { name = key, value = value }]
        secrets      = [for key, secret in param.secret_env : { name = key, valueFrom = secret.arn }]
      }])
    }

    resource "aws_lb_target_group" "main" {
      count = param.port == null ? 0 : 1
      # At most 32 characters, as the load balancer's name.
      name        = length("${self.stack}-${self.dns_name}") <= 32 ? "${self.stack}-${self.dns_name}" : "${trim(substr("${self.stack}-${self.dns_name}", 0, 23), "-")}-${substr(sha256("${self.stack}-${self.dns_name}"), 0, 8)}"
      port        = param.port
      protocol    = "HTTP"
      vpc_id      = network.vpc_id
      target_type = "ip"
      health_check = {
        path     = param.health == null ? "/" : (param.health.path != null ? param.health.path : "/")
        interval = param.health == null ? 30 : (param.health.interval != null ? tonumber(replace(param.health.interval, "s", "")) : 30)
      }
    }

    resource "aws_ecs_service" "main" {
      name            = self.dns_name
      cluster         = network.cluster_arn
      task_definition = aws_ecs_task_definition.main.arn
      desired_count   = param.autoscale == null ? param.replicas : param.autoscale.min
      launch_type     = "FARGATE"
      network_configuration = {
        subnets          = network.subnet_ids
        security_groups  = [network.security_group_id]
        assign_public_ip = true
      }
      load_balancer = param.port == null ? [] : [{
        target_group_arn = aws_lb_target_group.main[0].arn
        container_name   = self.dns_name
        container_port   = param.port
      }]
      deployment_minimum_healthy_percent = 100
      deployment_maximum_percent         = param.rollout == null ? 200 : (param.rollout.strategy == "blue_green" ? 200 : 150)
    }

    # Rollouts (docs/rollouts.md): `stackc apply` reads this descriptor, and
    # for each step of a new version it expands the body with `self.rollout`
    # set and plans with the stable service and task definition held (they
    # keep the old version), the canary ones below running the new one
    # behind their own target group, which the load balancer's listener
    # weighs against the stable group.
    resource "stackc_data" "rollout" {
      count = param.rollout == null ? 0 : 1
      input = {
        rollout = {
          strategy        = param.rollout.strategy != null ? param.rollout.strategy : "rolling"
          steps           = (param.rollout.strategy != null ? param.rollout.strategy : "rolling") == "canary" ? (param.rollout.steps != null ? param.rollout.steps : [10, 50, 100]) : []
          gate            = param.rollout.gate != null ? param.rollout.gate : "30s"
          timeout         = param.rollout.timeout != null ? param.rollout.timeout : "300s"
          pause           = param.rollout.pause != null ? param.rollout.pause : "0s"
          keep            = param.rollout.keep
          max_error_rate  = param.rollout.max_error_rate
          max_surge       = param.rollout.max_surge
          max_unavailable = param.rollout.max_unavailable
          port            = param.port
          replicas        = param.autoscale == null ? param.replicas : param.autoscale.min
          stable          = ["aws_ecs_service.main", "aws_ecs_task_definition.main"]
          canary          = ["aws_ecs_service.canary", "aws_ecs_task_definition.canary", "aws_lb_target_group.canary"]
          health          = ["aws_ecs_service.canary"]
          load_balancer   = null
        }
      }
    }

    # The new version during a rollout step: the stable task definition's
    # containers under another family, run by a `-canary` service with the
    # step's task count, registered in a target group of its own (so only
    # the listener's weight sends it requests).
    resource "aws_ecs_task_definition" "canary" {
      count                    = self.rollout == null ? 0 : (self.rollout.canary > 0 ? 1 : 0)
      family                   = "${self.stack}-${self.dns_name}-canary"
      network_mode             = "awsvpc"
      requires_compatibilities = ["FARGATE"]
      cpu                      = "256"
      memory                   = "512"
      execution_role_arn       = network.execution_role_arn
      container_definitions = jsonencode([{
        name         = self.dns_name
        image        = param.image
        essential    = true
        command      = param.command
        portMappings = param.port == null ? [] : [{ containerPort = param.port, protocol = "tcp" }]
        environment  = [for key, value in param.env : { name = key, value = value }]
        secrets      = [for key, secret in param.secret_env : { name = key, valueFrom = secret.arn }]
      }])
    }

    resource "aws_lb_target_group" "canary" {
      count = self.rollout == null || param.port == null ? 0 : (self.rollout.canary > 0 ? 1 : 0)
      # The main group's naming rule on `<stack>-<name>-c`: at most 32
      # characters, never the main group's name.
      name        = length("${self.stack}-${self.dns_name}-c") <= 32 ? "${self.stack}-${self.dns_name}-c" : "${trim(substr("${self.stack}-${self.dns_name}-c", 0, 23), "-")}-${substr(sha256("${self.stack}-${self.dns_name}-c"), 0, 8)}"
      port        = param.port
      protocol    = "HTTP"
      vpc_id      = network.vpc_id
      target_type = "ip"
      health_check = {
        path     = param.health == null ? "/" : (param.health.path != null ? param.health.path : "/")
        interval = param.health == null ? 30 : (param.health.interval != null ? tonumber(replace(param.health.interval, "s", "")) : 30)
      }
    }

    resource "aws_ecs_service" "canary" {
      count           = self.rollout == null ? 0 : (self.rollout.canary > 0 ? 1 : 0)
      name            = "${self.dns_name}-canary"
      cluster         = network.cluster_arn
      task_definition = aws_ecs_task_definition.canary[0].arn
      desired_count   = self.rollout.canary
      launch_type     = "FARGATE"
      network_configuration = {
        subnets          = network.subnet_ids
        security_groups  = [network.security_group_id]
        assign_public_ip = true
      }
      load_balancer = param.port == null ? [] : [{
        target_group_arn = aws_lb_target_group.canary[0].arn
        container_name   = self.dns_name
        container_port   = param.port
      }]
      deployment_minimum_healthy_percent = 100
      deployment_maximum_percent         = 200
    }

    resource "aws_appautoscaling_target" "main" {
      count              = param.autoscale == null ? 0 : 1
      service_namespace  = "ecs"
      resource_id        = "service/${network.cluster_name}/${self.dns_name}"
      scalable_dimension = "ecs:service:DesiredCount"
      min_capacity       = param.autoscale.min
      max_capacity       = param.autoscale.max
      depends_on         = [aws_ecs_service.main]
    }

    resource "aws_appautoscaling_policy" "cpu" {
      count              = param.autoscale == null ? 0 : (param.autoscale.cpu_target == null && param.autoscale.memory_target != null ? 0 : 1)
      name               = "${self.dns_name}-cpu"
      policy_type        = "TargetTrackingScaling"
      service_namespace  = "ecs"
      resource_id        = aws_appautoscaling_target.main[0].resource_id
      scalable_dimension = "ecs:service:DesiredCount"
      # The windows become cooldowns only when set, so AWS keeps its own defaults otherwise.
      target_tracking_scaling_policy_configuration = merge(
        {
          target_value                    = param.autoscale.cpu_target != null ? param.autoscale.cpu_target : 80
          predefined_metric_specification = { predefined_metric_type = "ECSServiceAverageCPUUtilization" }
        },
        param.autoscale.scale_down_window == null ? {} : { scale_in_cooldown = tonumber(trimsuffix(param.autoscale.scale_down_window, "s")) },
        param.autoscale.scale_up_window == null ? {} : { scale_out_cooldown = tonumber(trimsuffix(param.autoscale.scale_up_window, "s")) }
      )
    }

    resource "aws_appautoscaling_policy" "memory" {
      count              = param.autoscale == null ? 0 : (param.autoscale.memory_target == null ? 0 : 1)
      name               = "${self.dns_name}-memory"
      policy_type        = "TargetTrackingScaling"
      service_namespace  = "ecs"
      resource_id        = aws_appautoscaling_target.main[0].resource_id
      scalable_dimension = "ecs:service:DesiredCount"
      # The windows become cooldowns only when set, so AWS keeps its own defaults otherwise.
      target_tracking_scaling_policy_configuration = merge(
        {
          target_value                    = param.autoscale.memory_target
          predefined_metric_specification = { predefined_metric_type = "ECSServiceAverageMemoryUtilization" }
        },
        param.autoscale.scale_down_window == null ? {} : { scale_in_cooldown = tonumber(trimsuffix(param.autoscale.scale_down_window, "s")) },
        param.autoscale.scale_up_window == null ? {} : { scale_out_cooldown = tonumber(trimsuffix(param.autoscale.scale_up_window, "s")) }
      )
    }

    output "target_group_arn" {
      value = param.port == null ? null : aws_lb_target_group.main[0].arn
    }

    output "canary_target_group_arn" {
      value = length(aws_lb_target_group.canary) == 0 ? null : aws_lb_target_group.canary[0].arn
    }
  }

  # One container per replica on the stack's network, reachable by the
  # service's name (a network alias shared by its replicas).
  # One container per replica on the stack's network (a new image or env
  # re-creates them one at a time, each healthy before the next); with
  # `build`, the image is built from the stack's directory first.
  on "local" {
    resource "docker_image" "build" {
      count   = param.build == null ? 0 : 1
      name    = "stackc-${self.stack}-${self.dns_name}"
      context = param.build
    }

    # Autoscaling: `stackc reconcile` reads the policy as last applied (this
    # resource's state), measures the replicas, and records the count it
    # chooses in the state, which bodies read as `self.autoscaled_replicas`
    # (null when none): the count below, within min..max (min at first).
    resource "stackc_data" "autoscale" {
      count = param.autoscale == null ? 0 : 1
      input = {
        autoscale = {
          min               = param.autoscale.min
          max               = param.autoscale.max
          cpu_target        = param.autoscale.cpu_target != null ? param.autoscale.cpu_target : (param.autoscale.memory_target != null ? null : 80)
          memory_target     = param.autoscale.memory_target
          tolerance         = param.autoscale.tolerance != null ? param.autoscale.tolerance : 0.1
          scale_down_window = param.autoscale.scale_down_window != null ? tonumber(trimsuffix(param.autoscale.scale_down_window, "s")) : 300
          scale_up_window   = param.autoscale.scale_up_window != null ? tonumber(trimsuffix(param.autoscale.scale_up_window, "s")) : 0
          replicas          = "docker_container.replica"
        }
      }
    }

    resource "docker_container" "replica" {
      count   = param.autoscale == null ? param.replicas : min(max(coalesce(self.autoscaled_replicas, param.autoscale.min), param.autoscale.min), param.autoscale.max)
      name    = "${self.stack}-${self.dns_name}-${count.index}"
      image   = param.build == null ? param.image : docker_image.build[0].ref
      command = param.command
      env = merge(
        { for pair in flatten([for config in param.config_from : [for key, value in config.data : { key = key, value = value }]]) : pair.key => pair.value },
        param.env
      )
      secret_env      = { for key, secret in param.secret_env : key => secret.value }
      network         = network.name
      network_aliases = [self.dns_name, "${self.dns_name}-${count.index}"]
      mounts = concat(
        [for path, config in param.config_mounts : { target = path, source = config.path, type = "bind", read_only = true }],
        [for path, secret in param.secret_mounts : { target = path, source = secret.path, type = "bind", read_only = true }],
        [for path, volume in param.volumes : { target = path, source = volume.id, type = "volume", read_only = false }]
      )
      healthcheck = param.health == null ? null : {
        test     = ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:${param.health.port != null ? param.health.port : param.port}${param.health.path != null ? param.health.path : "/"}"]
        interval = param.health.interval != null ? param.health.interval : "5s"
        retries  = 3
      }
      memory  = param.resources == null ? null : param.resources.memory
      cpus    = param.resources == null ? null : param.resources.cpu
      restart = "unless-stopped"
      labels  = { "managed-by" = "stackc", "stackc.component" = "service", "stackc.instance" = self.dns_name }
    }

    # Rollouts (docs/rollouts.md): `stackc apply` reads this descriptor, and
    # for each step of a new version it expands the body with `self.rollout`
    # set and plans with the stable replicas held (they keep the old version).
    resource "stackc_data" "rollout" {
      count = param.rollout == null ? 0 : 1
      input = {
        rollout = {
          strategy        = param.rollout.strategy != null ? param.rollout.strategy : "rolling"
          steps           = (param.rollout.strategy != null ? param.rollout.strategy : "rolling") == "canary" ? (param.rollout.steps != null ? param.rollout.steps : [10, 50, 100]) : []
          gate            = param.rollout.gate != null ? param.rollout.gate : "30s"
          timeout         = param.rollout.timeout != null ? param.rollout.timeout : "300s"
          pause           = param.rollout.pause != null ? param.rollout.pause : "0s"
          keep            = param.rollout.keep
          max_error_rate  = param.rollout.max_error_rate
          max_surge       = param.rollout.max_surge
          max_unavailable = param.rollout.max_unavailable
          port            = param.port
          replicas        = length(docker_container.replica)
          stable          = ["docker_container.replica"]
          canary          = ["docker_container.canary"]
          health          = ["docker_container.canary"]
          load_balancer   = null
        }
      }
    }

    # The new version's replicas during a rollout step: the stable replica's
    # configuration under `-canary` names, reachable only by their own
    # aliases (not the service's), so only the load balancer sends to them.
    resource "docker_container" "canary" {
      count   = self.rollout == null ? 0 : self.rollout.canary
      name    = "${self.stack}-${self.dns_name}-canary-${count.index}"
      image   = param.build == null ? param.image : docker_image.build[0].ref
      command = param.command
      env = merge(
        { for pair in flatten([for config in param.config_from : [for key, value in config.data : { key = key, value = value }]]) : pair.key => pair.value },
        param.env
      )
      secret_env      = { for key, secret in param.secret_env : key => secret.value }
      network         = network.name
      network_aliases = ["${self.dns_name}-canary", "${self.dns_name}-canary-${count.index}"]
      mounts = concat(
        [for path, config in param.config_mounts : { target = path, source = config.path, type = "bind", read_only = true }],
        [for path, secret in param.secret_mounts : { target = path, source = secret.path, type = "bind", read_only = true }],
        [for path, volume in param.volumes : { target = path, source = volume.id, type = "volume", read_only = false }]
      )
      healthcheck = param.health == null ? null : {
        test     = ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:${param.health.port != null ? param.health.port : param.port}${param.health.path != null ? param.health.path : "/"}"]
        interval = param.health.interval != null ? param.health.interval : "5s"
        retries  = 3
      }
      memory  = param.resources == null ? null : param.resources.memory
      cpus    = param.resources == null ? null : param.resources.cpu
      restart = "unless-stopped"
      labels  = { "managed-by" = "stackc", "stackc.component" = "service", "stackc.instance" = self.dns_name, "stackc.track" = "canary" }
    }

    output "backends" {
      value = [for replica in docker_container.replica : "${replica.network_aliases[1]}"]
    }

    output "canary_backends" {
      value = self.rollout == null ? null : [for replica in docker_container.canary : "${replica.network_aliases[1]}"]
    }

    output "replicas" {
      value = length(docker_container.replica)
    }
  }
}
