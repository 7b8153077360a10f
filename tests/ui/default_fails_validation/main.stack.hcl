variable "replicas" {
  type    = number
  default = 1
  validation {
    condition = var.replicas >= 2
    message   = "Keep at least two replicas so one can restart without downtime."
  }
}

service "api" {
  image    = "registry.example.com/shop/api:1.4.2"
  replicas = var.replicas
}
