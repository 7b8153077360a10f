# stdlib: `database`, a `stateful` preset per engine. Each instance gets its
# own volume. Conventions: see the header of service.stack.hcl.
#
# The url carries no credentials (so it can go in a plain env var); pass the
# password to clients with `secret_env`.

component "database" {
  param "engine" {
    type        = string
    default     = "postgres"
    description = "\"postgres\", \"mysql\" or \"redis\"."
    validation {
      condition = contains(["postgres", "mysql", "redis"], param.engine)
      message   = "engine is one of \"postgres\", \"mysql\", \"redis\"."
    }
  }

  param "version" {
    type        = string
    default     = null
    description = "Engine version (image tag); default: postgres 16, mysql 8.4, redis 7."
  }

  param "image" {
    type        = string
    default     = null
    description = "Container image (local and kubernetes); default: the engine's official image, \"<engine>:<version>\"."
  }

  param "instances" {
    type    = number
    default = 1
    validation {
      condition = param.instances >= 1 && param.instances % 1 == 0
      message   = "instances must be a whole number, 1 or more."
    }
  }

  param "storage" {
    type        = quantity
    default     = "10Gi"
    description = "Size of each instance's volume."
  }

  param "storage_class" {
    type    = string
    default = null
  }

  param "password" {
    type        = secret
    default     = null
    description = "The administrator password, e.g. secret.db_password (a `secret` with `generate` is typical)."
  }

  param "database_name" {
    type        = string
    default     = null
    description = "Name of the database created at start; default: the instance name."
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

  param "instance_size" {
    type    = string
    default = "t3.small"
  }

  output "name" {
    type  = string
    value = self.dns_name
  }

  output "host" {
    type        = string
    description = "Address of the primary instance."
  }

  output "port" {
    type  = number
    value = param.engine == "postgres" ? 5432 : (param.engine == "mysql" ? 3306 : 6379)
  }

  output "url" {
    type        = string
    description = "<engine>://host:port/database, without credentials."
  }

  # A StatefulSet per database (one volume claim per instance) + headless
  # Service. The engine decides image, port, data directory and password env.
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
            "app.kubernetes.io/component"  = "database"
            "app.kubernetes.io/managed-by" = "stackc"
          }
        }
        spec = {
          clusterIP = "None"
          selector = {
            "app.kubernetes.io/name"      = self.dns_name
            "app.kubernetes.io/component" = "database"
          }
          ports = [{ name = param.engine, port = { postgres = 5432, mysql = 3306, redis = 6379 }[param.engine] }]
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
            "app.kubernetes.io/component"  = "database"
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
              "app.kubernetes.io/component" = "database"
            }
          }
          template = {
            metadata = {
              labels = {
                "app.kubernetes.io/name"      = self.dns_name
                "app.kubernetes.io/component" = "database"
              }
            }
            spec = {
              containers = [{
                name  = param.engine
                image = param.image != null ? param.image : "${param.engine}:${param.version != null ? param.version : { postgres = "16", mysql = "8.4", redis = "7" }[param.engine]}"
                args  = param.engine == "redis" && param.password != null ? ["redis-server", "--appendonly", "yes", "--requirepass", "$(REDIS_PASSWORD)"] : null
                ports = [{ name = param.engine, containerPort = { postgres = 5432, mysql = 3306, redis = 6379 }[param.engine] }]
                env = concat(
                  param.password == null ? [] : [{
                    name      = { postgres = "POSTGRES_PASSWORD", mysql = "MYSQL_ROOT_PASSWORD", redis = "REDIS_PASSWORD" }[param.engine]
                    valueFrom = { secretKeyRef = { name = param.password.name, key = "value" } }
                  }],
                  param.engine == "postgres" ? [
                    { name = "POSTGRES_DB", value = param.database_name != null ? param.database_name : self.dns_name },
                    { name = "PGDATA", value = "/var/lib/postgresql/data/pgdata" },
                  ] : [],
                  param.engine == "mysql" ? [
                    { name = "MYSQL_DATABASE", value = param.database_name != null ? param.database_name : self.dns_name },
                  ] : []
                )
                volumeMounts = [{
                  name      = "data"
                  mountPath = { postgres = "/var/lib/postgresql/data", mysql = "/var/lib/mysql", redis = "/data" }[param.engine]
                }]
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
                readinessProbe = {
                  tcpSocket     = { port = { postgres = 5432, mysql = 3306, redis = 6379 }[param.engine] }
                  periodSeconds = 10
                }
              }]
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

    output "url" {
      value = "${param.engine}://${self.dns_name}-0.${self.dns_name}:${{ postgres = 5432, mysql = 3306, redis = 6379 }[param.engine]}/${param.database_name != null ? param.database_name : self.dns_name}"
    }
  }

  # One EC2 instance per instance, each with its own EBS volume and
  # attachment. The password is read from Secrets Manager at boot (the
  # instance needs read access to the secret).
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
        param.password == null ? "PASSWORD=" : "PASSWORD=$(aws secretsmanager get-secret-value --secret-id ${param.password.arn} --query SecretString --output text)",
        join(" ", [
          "docker run -d --restart always --name ${self.dns_name}",
          "-v /data:${{ postgres = "/var/lib/postgresql/data", mysql = "/var/lib/mysql", redis = "/data" }[param.engine]}",
          "-p ${{ postgres = 5432, mysql = 3306, redis = 6379 }[param.engine]}:${{ postgres = 5432, mysql = 3306, redis = 6379 }[param.engine]}",
          "-e ${{ postgres = "POSTGRES_PASSWORD", mysql = "MYSQL_ROOT_PASSWORD", redis = "REDIS_PASSWORD" }[param.engine]}=\"$PASSWORD\"",
          param.engine == "postgres" ? "-e POSTGRES_DB=${param.database_name != null ? param.database_name : self.dns_name} -e PGDATA=/var/lib/postgresql/data/pgdata" : "",
          param.engine == "mysql" ? "-e MYSQL_DATABASE=${param.database_name != null ? param.database_name : self.dns_name}" : "",
          "${param.engine}:${param.version != null ? param.version : { postgres = "16", mysql = "8.4", redis = "7" }[param.engine]}",
          param.engine == "redis" ? "redis-server --appendonly yes --requirepass \"$PASSWORD\"" : "",
        ]),
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

    output "url" {
      value = "${param.engine}://${aws_instance.node["0"].private_ip}:${{ postgres = 5432, mysql = 3306, redis = 6379 }[param.engine]}/${param.database_name != null ? param.database_name : self.dns_name}"
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
      count   = param.instances
      name    = "${self.stack}-${self.dns_name}-${count.index}"
      image   = param.image != null ? param.image : "${param.engine}:${param.version != null ? param.version : { postgres = "16", mysql = "8.4", redis = "7" }[param.engine]}"
      command = param.engine == "redis" && param.password != null ? ["sh", "-c", "exec redis-server --appendonly yes --requirepass \"$(cat \"$REDIS_PASSWORD_FILE\")\""] : null
      env = merge(
        param.engine == "postgres" ? { POSTGRES_DB = param.database_name != null ? param.database_name : self.dns_name, PGDATA = "/var/lib/postgresql/data/pgdata" } : {},
        param.engine == "mysql" ? { MYSQL_DATABASE = param.database_name != null ? param.database_name : self.dns_name } : {}
      )
      secret_env      = param.password == null ? {} : { ({ postgres = "POSTGRES_PASSWORD", mysql = "MYSQL_ROOT_PASSWORD", redis = "REDIS_PASSWORD" }[param.engine]) = param.password.value }
      network         = network.name
      network_aliases = count.index == 0 ? [self.dns_name, "${self.dns_name}-0"] : ["${self.dns_name}-${count.index}"]
      mounts = [{
        target    = { postgres = "/var/lib/postgresql/data", mysql = "/var/lib/mysql", redis = "/data" }[param.engine]
        source    = docker_volume.data[count.index].name
        type      = "volume"
        read_only = false
      }]
      restart = "unless-stopped"
      labels  = { "managed-by" = "stackc", "stackc.component" = "database", "stackc.instance" = self.dns_name }
    }

    output "host" {
      value = "${self.dns_name}-0"
    }

    output "url" {
      value = "${param.engine}://${self.dns_name}-0:${{ postgres = 5432, mysql = 3306, redis = 6379 }[param.engine]}/${param.database_name != null ? param.database_name : self.dns_name}"
    }
  }
}
