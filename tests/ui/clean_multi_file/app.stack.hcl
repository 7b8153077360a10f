service "web" {
  image    = "registry.example.com/shop/web:${local.version}"
  replicas = var.replicas
  port     = 3000
  volumes  = { "/data" = volume.uploads }
  config_mounts = { "/etc/web" = config.web }
}

load_balancer "public" {
  to = service.web
}
