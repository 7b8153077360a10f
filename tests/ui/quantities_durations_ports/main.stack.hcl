service "api" {
  image = "registry.example.com/shop/api:1.4.2"
  port  = 0
  resources {
    cpu    = "half"
    memory = "512MB"
  }
  health {
    path     = "/healthz"
    interval = "10 seconds"
  }
}
