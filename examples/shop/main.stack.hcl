# The shop: one load balancer; four API replicas behind it, each request
# sent to a different one; three database instances, each with its own
# volume; a config and a generated secret; new versions rolled out as a
# canary; replicas scaled on CPU.
#
#   stackc check examples/shop
#   stackc build examples/shop --target kubernetes -o out/
#   stackc graph examples/shop --target aws | dot -Tsvg > shop.svg

variable "api_replicas" {
  type    = number
  default = 4
  validation {
    condition = var.api_replicas >= 2
    message   = "Keep at least two replicas so one can restart without downtime."
  }
}

variable "api_image" {
  type    = string
  default = "registry.example.com/shop/api:1.4.2"
}

variable "database_image" {
  type        = string
  default     = null
  description = "The database's image; default: the engine's official one (postgres:16)."
}

variable "http_port" {
  type        = number
  default     = 80
  description = "The port the load balancer answers on."
}

# Generated once at apply, kept in state, never shown.
secret "db_password" {
  generate { length = 32 }
}

config "api" {
  data = {
    LOG_LEVEL     = "info"
    CURRENCY      = "EUR"
    CATALOG_CACHE = "300"
  }
}

# Each instance gets its own volume.
database "main" {
  engine    = "postgres"
  instances = 3
  storage   = "20Gi"
  password  = secret.db_password
  image     = var.database_image
}

service "api" {
  image       = var.api_image
  replicas    = var.api_replicas
  port        = 8080
  env         = { DATABASE_URL = database.main.url }
  secret_env  = { DATABASE_PASSWORD = secret.db_password }
  config_from = [config.api]
  resources {
    cpu    = "250m"
    memory = "256Mi"
  }

  health { path = "/healthz" }
  autoscale {
    min               = 4
    max               = 12
    cpu_target        = 70
    memory_target     = 80
    scale_down_window = "120s"
  }

  rollout {
    strategy = "canary"
    steps    = [10, 50, 100]
  }
}

load_balancer "public" {
  port = var.http_port
  to   = service.api
}

output "url" {
  value = load_balancer.public.url
}

output "database_url" {
  value = database.main.url
}
