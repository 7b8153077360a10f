component "service" {
  param "image" {
    type = string
  }
  param "replicas" {
    type    = number
    default = 2
  }
  output "name" {
    type  = string
    value = self.name
  }
}

service "api" {
  image = "registry.example.com/shop/api:1.4.2"
}

output "api_name" {
  value = service.api.name
}
