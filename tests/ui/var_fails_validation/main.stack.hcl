variable "api_replicas" {
  type    = number
  default = 4
  validation {
    condition = var.api_replicas >= 2
    message   = "Keep at least two replicas so one can restart without downtime."
  }
}

service "api" {
  image    = "registry.example.com/shop/api:1.4.2"
  replicas = var.api_replicas
}
