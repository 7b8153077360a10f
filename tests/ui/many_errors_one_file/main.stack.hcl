service "api" {
  image    = "registry.example.com/shop/api:1.4.2"
  replica  = 3
  port     = 70000
  env      = { MODE = var.mode }
}

service "web" {
  image    = 42
  replicas = lenght(["a"])
}
