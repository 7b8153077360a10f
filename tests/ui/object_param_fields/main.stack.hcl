service "api" {
  image = "registry.example.com/shop/api:1.4.2"
  port  = 8080
  health {
    pth = "/healthz"
  }
  autoscale {
    min = 2
  }
  resources = {
    cpu    = "500m"
    memory = 512
    disk   = "1Gi"
  }
}
