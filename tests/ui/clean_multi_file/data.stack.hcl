volume "uploads" {
  size = "10Gi"
}

config "web" {
  data = { "settings.json" = jsonencode({ theme = "dark", pages = range(3) }) }
}
