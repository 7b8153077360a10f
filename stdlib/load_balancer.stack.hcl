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
          name      = "${self.dns_name}-lb"
          namespace = target.namespace
          labels = {
            "app.kubernetes.io/name"       = self.dns_name
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

  # An application load balancer (http) or network load balancer (tcp) with
  # a listener forwarding to the service's target group.
  on "aws" {
    resource "aws_lb" "main" {
      # At most 32 characters (an AWS limit); a longer name keeps its
      # start and ends in a hash of the whole, so two long names that share
      # a start do not collide.
      name               = length("${self.stack}-${self.dns_name}") <= 32 ? "${self.stack}-${self.dns_name}" : "${trim(substr("${self.stack}-${self.dns_name}", 0, 23), "-")}-${substr(sha256("${self.stack}-${self.dns_name}"), 0, 8)}"
      load_balancer_type = param.protocol == "http" ? "application" : "network"
      subnets            = network.subnet_ids
      security_groups    = [network.public_security_group_id]
    }

    resource "aws_lb_listener" "main" {
      load_balancer_arn = aws_lb.main.arn
      port              = param.port
      protocol          = param.protocol == "http" ? "HTTP" : "TCP"
      # During a rollout step of the service: its stable and canary target
      # groups weighted by the step's share (changed in place each step).
      default_action = param.to.rollout_weight == null ? [{ type = "forward", target_group_arn = param.to.target_group_arn }] : [{
        type = "forward"
        forward = {
          target_groups = [
            { arn = param.to.target_group_arn, weight = 100 - param.to.rollout_weight },
            { arn = param.to.canary_target_group_arn, weight = param.to.rollout_weight },
          ]
        }
      }]
    }

    output "host" {
      value = aws_lb.main.dns_name
    }

    output "url" {
      value = "${param.protocol}://${aws_lb.main.dns_name}:${param.port}"
    }
  }

  # nginx in a container publishing `port` on the host, proxying to the
  # service's replicas by name (`backends`); a request a replica cannot
  # take (it is being replaced) goes to the next. The image is the target's
  # `load_balancer_image` (default nginx:1.27-alpine); the provider makes
  # nginx reload its configuration when replicas change (a graceful reload:
  # requests under way finish on the old workers). During a rollout step
  # (`param.to.rollout_weight` set) the new version's replicas
  # (`param.to.canary_backends`) join the upstream with weights that give
  # them the step's share of the requests.
  on "local" {
    resource "local_file" "config" {
      path            = ".stackc/local/load_balancers/${self.dns_name}/nginx.conf"
      file_permission = "0644"
      content = join("\n", concat(
        ["worker_processes 1;", "pid /tmp/nginx.pid;", "events {}", param.protocol == "http" ? "http {" : "stream {", "  access_log off;", "  upstream backend {"],
        # During a rollout step each VERSION gets its share whatever the
        # replica counts: with weight w, S stable and C canary replicas,
        # each stable server weighs (100 - w) * C and each canary one w * S
        # (a side whose share is 0 is left out; with no stable replica the
        # canary servers weigh 1: nginx refuses a weight of 0).
        param.to.rollout_weight == null || param.to.canary_backends == null ? [for backend in param.to.backends : "    server ${backend}:${param.to.port} max_fails=0;"] : (
          length(param.to.canary_backends) == 0 ? [for backend in param.to.backends : "    server ${backend}:${param.to.port} max_fails=0;"] : concat(
            param.to.rollout_weight >= 100 ? [] : [for backend in param.to.backends : "    server ${backend}:${param.to.port} weight=${(100 - param.to.rollout_weight) * length(param.to.canary_backends)} max_fails=0;"],
            param.to.rollout_weight <= 0 ? [] : [for backend in param.to.canary_backends : "    server ${backend}:${param.to.port} weight=${max(1, param.to.rollout_weight * length(param.to.backends))} max_fails=0;"]
          )
        ),
        param.protocol == "http" ? [
          "  }",
          "  server {",
          "    listen 80;",
          "    location / {",
          "      proxy_pass http://backend;",
          "      proxy_connect_timeout 2s;",
          "      proxy_next_upstream error timeout http_502 http_503 http_504;",
          "      proxy_next_upstream_tries 0;",
          "    }",
          "  }",
          "}",
          "",
        ] : ["  }", "  server { listen 80; proxy_pass backend; proxy_connect_timeout 2s; }", "}", ""]
      ))
    }

    resource "docker_container" "proxy" {
      name    = "${self.stack}-${self.dns_name}-lb"
      image   = target.load_balancer_image != null ? target.load_balancer_image : "nginx:1.27-alpine"
      network = network.name
      ports   = [{ internal = 80, external = param.port, protocol = "tcp" }]
      # The directory, not the file: the file is replaced whole on change.
      command    = ["/usr/sbin/nginx", "-c", "/etc/nginx/stackc/nginx.conf", "-g", "daemon off;"]
      mounts     = [{ target = "/etc/nginx/stackc", source = ".stackc/local/load_balancers/${self.dns_name}", type = "bind", read_only = true }]
      depends_on = [local_file.config]
      restart    = "unless-stopped"
      labels     = { "managed-by" = "stackc", "stackc.component" = "load_balancer", "stackc.instance" = self.dns_name }
    }

    output "host" {
      value = "localhost"
    }

    output "url" {
      value = "${param.protocol}://localhost:${param.port}"
    }
  }
}
