variable "api_replicas" {
  type    = number
  default = 4
}

service "api" {
  image    = "registry.example.com/shop/api:1.4.2"
  replicas = var.api_replica
}
