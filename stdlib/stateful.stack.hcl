# stdlib: `stateful`, a workload with stable identity, ordered start and one
# volume per instance. Conventions: see the header of service.stack.hcl.

component "stateful" {
  param "image" {
    type = string
  }

  param "instances" {
    type        = number
    default     = 1
    description = "Number of instances; each gets its own volume and a stable name (<name>-0, <name>-1, ...)."
    validation {
      condition = param.instances >= 1 && param.instances % 1 == 0
      message   = "instances must be a whole number, 1 or more."
    }
  }

  param "port" {
    type    = port
    default = null
  }

  param "command" {
    type    = list(string)
    default = null
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

  param "config_mounts" {
    type    = map(config)
    default = {}
  }

  param "storage" {
    type        = quantity
    description = "Size of each instance's volume, e.g. \"20Gi\"."
  }

  param "storage_class" {
    type        = string
    default     = null
    description = "Storage class (kubernetes) or EBS volume type (aws, default gp3)."
  }

  param "mount_path" {
    type        = string
    default     = "/data"
    description = "Where each instance's volume is mounted."
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

  param "health" {
    type = object({
      path     = optional(string)
      port     = optional(port)
      interval = optional(duration)
    })
    default     = null
    description = "Health check: with a path an HTTP check, without one a TCP check on the port."
  }

  param "instance_size" {
    type        = string
    default     = "t3.small"
    description = "EC2 instance type on aws (ignored elsewhere)."
  }

  output "name" {
    type  = string
    value = self.dns_name
  }

  output "host" {
    type        = string
    description = "The address of the first instance (the primary)."
  }

  output "hosts" {
    type        = list(string)
    description = "The address of every instance, in order."
  }

  output "port" {
    type  = number
    value = param.port
  }

  # StatefulSet with one volume claim per instance + headless Service giving
  # each instance a stable name (<name>-0.<name>, ...).
  on "kubernetes" {
    resource "kubernetes_manifest" "service" {
      manifest = {
        apiVersion = "v1"
        kind       = "Service"
        metadata = {
          name      = self.dns_name
          namespace = target.namespace
          labels = {
            "app.kubernetes.io/name"       = self.dns_name
            "app.kubernetes.io/component"  = "stateful"
            "app.kubernetes.io/managed-by" = "stackc"
          }
        }
        spec = {
          clusterIP = "None"
          selector = {
            "app.kubernetes.io/name"      = self.dns_name
            "app.kubernetes.io/component" = "stateful"
          }
          ports = param.port == null ? null : [{ name = "main", port = param.port, targetPort = param.port }]
        }
      }
    }

    resource "kubernetes_manifest" "statefulset" {
      manifest = {
        apiVersion = "apps/v1"
        kind       = "StatefulSet"
        metadata = {
          name      = self.dns_name
          namespace = target.namespace
          labels = {
            "app.kubernetes.io/name"       = self.dns_name
            "app.kubernetes.io/component"  = "stateful"
            "app.kubernetes.io/managed-by" = "stackc"
          }
        }
        spec = {
          serviceName         = self.dns_name
          replicas            = param.instances
          podManagementPolicy = "OrderedReady"
          selector = {
            matchLabels = {
              "app.kubernetes.io/name"      = self.dns_name
              "app.kubernetes.io/component" = "stateful"
            }
          }
          template = {
            metadata = {
              labels = {
                "app.kubernetes.io/name"      = self.dns_name
                "app.kubernetes.io/component" = "stateful"
              }
            }
            spec = {
              containers = [{
                name    = self.dns_name
                image   = param.image
                command = param.command
                ports   = param.port == null ? null : [{ name = "main", containerPort = param.port }]
                env = concat(
                  [for key, value in param.env : { name = key, value = value }],
                  [for key, secret in param.secret_env : {
                    name      = key
                    valueFrom = { secretKeyRef = { name = secret.name, key = "value" } }
                  }]
                )
                envFrom = [for config in param.config_from : { configMapRef = { name = config.name } }]
                volumeMounts = concat(
                  [{ name = "data", mountPath = param.mount_path }],
                  [for path, config in param.config_mounts : { name = "config-${config.name}", mountPath = path, readOnly = true }]
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
                  httpGet       = param.health.path == null ? null : { path = param.health.path, port = param.health.port != null ? param.health.port : param.port }
                  tcpSocket     = param.health.path != null ? null : { port = param.health.port != null ? param.health.port : param.port }
                  periodSeconds = param.health.interval != null ? tonumber(replace(param.health.interval, "s", "")) : 10
                }
              }]
              volumes = [for path, config in param.config_mounts : { name = "config-${config.name}", configMap = { name = config.name } }]
            }
          }
          volumeClaimTemplates = [{
            metadata = { name = "data" }
            spec = {
              accessModes      = ["ReadWriteOnce"]
              storageClassName = param.storage_class
              resources        = { requests = { storage = param.storage } }
            }
          }]
        }
      }
    }

    output "host" {
      value = "${self.dns_name}-0.${self.dns_name}"
    }

    output "hosts" {
      value = [for i in range(param.instances) : "${self.dns_name}-${i}.${self.dns_name}"]
    }
  }

  # One EC2 instance per instance, each with its own EBS volume and
  # attachment, alternating between the stack's two zones. The container
  # runs under Docker on the machine image given by the target's `ami`.
  on "aws" {
    resource "aws_instance" "node" {
      for_each               = { for i in range(param.instances) : tostring(i) => i }
      ami                    = target.ami
      instance_type          = param.instance_size
      subnet_id              = network.subnet_ids[each.value % 2]
      vpc_security_group_ids = [network.security_group_id]
      tags                   = { Name = "${self.dns_name}-${each.key}", "managed-by" = "stackc" }
      user_data = join("\n", [
        "#!/bin/sh",
        "set -e",
        "DEV=/dev/nvme1n1; [ -e $DEV ] || DEV=/dev/sdf",
        "while [ ! -e $DEV ]; do sleep 1; done",
        "blkid $DEV || mkfs -t ext4 $DEV",
        "mkdir -p /data && mount $DEV /data",
        join(" ", concat(
          ["docker run -d --restart always --name ${self.dns_name}-${each.key} -v /data:${param.mount_path}"],
          param.port == null ? [] : ["-p ${param.port}:${param.port}"],
          [for key, value in param.env : "-e '${key}=${replace(value, "'", "")}'"],
          [param.image],
          param.command == null ? [] : param.command
        )),
      ])
    }

    resource "aws_ebs_volume" "data" {
      for_each          = { for i in range(param.instances) : tostring(i) => i }
      availability_zone = network.availability_zones[each.value % 2]
      size              = tonumber(replace(param.storage, "Gi", ""))
      type              = param.storage_class != null ? param.storage_class : "gp3"
      encrypted         = true
      tags              = { Name = "${self.dns_name}-${each.key}", "managed-by" = "stackc" }
    }

    resource "aws_volume_attachment" "data" {
      for_each    = { for i in range(param.instances) : tostring(i) => i }
      device_name = "/dev/sdf"
      instance_id = aws_instance.node[each.key].id
      volume_id   = aws_ebs_volume.data[each.key].id
    }

    output "host" {
      value = aws_instance.node["0"].private_ip
    }

    output "hosts" {
      value = [for key, node in aws_instance.node : node.private_ip]
    }
  }

  # One container and one named volume per instance.
  on "local" {
    resource "docker_volume" "data" {
      count  = param.instances
      name   = "${self.stack}-${self.dns_name}-${count.index}"
      labels = { "managed-by" = "stackc" }
    }

    resource "docker_container" "node" {
      count           = param.instances
      name            = "${self.stack}-${self.dns_name}-${count.index}"
      image           = param.image
      command         = param.command
      env             = param.env
      secret_env      = { for key, secret in param.secret_env : key => secret.value }
      network         = network.name
      network_aliases = count.index == 0 ? [self.dns_name, "${self.dns_name}-0"] : ["${self.dns_name}-${count.index}"]
      mounts = concat(
        [{ target = param.mount_path, source = docker_volume.data[count.index].name, type = "volume", read_only = false }],
        [for path, config in param.config_mounts : { target = path, source = config.path, type = "bind", read_only = true }]
      )
      memory  = param.resources == null ? null : param.resources.memory
      cpus    = param.resources == null ? null : param.resources.cpu
      restart = "unless-stopped"
      labels  = { "managed-by" = "stackc", "stackc.component" = "stateful", "stackc.instance" = self.dns_name }
    }

    output "host" {
      value = "${self.dns_name}-0"
    }

    output "hosts" {
      value = [for i in range(param.instances) : "${self.dns_name}-${i}"]
    }
  }
}
