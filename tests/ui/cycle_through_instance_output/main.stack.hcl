locals {
  api_port = service.api.port + 0
}

service "api" {
  image = "registry.example.com/shop/api:1.4.2"
  port  = local.api_port
}
