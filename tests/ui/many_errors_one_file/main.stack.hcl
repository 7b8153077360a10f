service "api" {
  image    = "registry.example.com/shop/api:1.4.2"
  replica  = 3
  port     = 70000
  env      = { MODE = var.mode }
}

service "web" {
  image    = ["registry.example.com/shop/web:1.0.0"]
  replicas = lenght(["a"])
}
