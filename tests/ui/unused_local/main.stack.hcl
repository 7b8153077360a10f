locals {
  registry = "registry.example.com/shop"
  unused   = "leftover"
}

service "api" {
  image = "${local.registry}/api:1.4.2"
}

target "kubernetes" {
  namespace = "ui"
}
