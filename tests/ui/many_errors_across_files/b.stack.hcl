service "api" {
  image = "registry.example.com/shop/api:1.5.0"
}

service "worker" {
  replicas = 2
}

load_balancer "public" {
  to = service.apii
}
