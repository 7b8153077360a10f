service "api" {
  image = "registry.example.com/shop/api:1.4.2"
  autoscale {
    min = 4
    max = 2
  }
}
