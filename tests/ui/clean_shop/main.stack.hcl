variable "api_replicas" {
  type    = number
  default = 4
  validation {
    condition = var.api_replicas >= 2
    message   = "Keep at least two replicas so one can restart without downtime."
  }
}

secret "db_password" {
  generate { length = 32 }
}

database "main" {
  engine    = "postgres"
  instances = 3
  storage   = "20Gi"
  password  = secret.db_password
}

service "api" {
  image    = "registry.example.com/shop/api:1.4.2"
  replicas = var.api_replicas
  port     = 8080
  env      = { DATABASE_URL = database.main.url }
  health { path = "/healthz" }
  autoscale {
    min        = 4
    max        = 12
    cpu_target = 70
  }
  rollout {
    strategy = "canary"
    steps    = [10, 50, 100]
  }
}

load_balancer "public" {
  port = 80
  to   = service.api
}

output "url" { value = load_balancer.public.url }

target "local" {}
target "aws" {
  region = "eu-west-3"
  ami    = "ami-0123456789abcdef0"
}
target "kubernetes" { namespace = "shop" }
