service "api" {
  image = "registry.example.com/shop/api:1.4.2"
  port  = 8080
}

load_balancer "public" {
  to = service
}
