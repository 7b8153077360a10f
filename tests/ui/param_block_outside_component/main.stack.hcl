param "image" {
  type = string
}

service "api" {
  image = "registry.example.com/shop/api:1.4.2"
}
