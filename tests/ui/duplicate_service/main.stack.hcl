service "api" {
  image = "registry.example.com/shop/api:1.4.2"
}

service "api" {
  image = "registry.example.com/shop/api:1.5.0"
}
