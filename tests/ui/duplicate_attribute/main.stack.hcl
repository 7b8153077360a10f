service "api" {
  image    = "registry.example.com/shop/api:1.4.2"
  replicas = 2
  replicas = 4
}
