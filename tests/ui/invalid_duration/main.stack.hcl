service "api" {
  image = "registry.example.com/shop/api:1.4.2"
  health {
    path     = "/healthz"
    interval = "30"
  }
}
