variable "replicas" {
  type    = number
  default = 2
}

service "api" {
  image    = "registry.example.com/shop/api:1.4.2"
  replicas = var.replicas
}
