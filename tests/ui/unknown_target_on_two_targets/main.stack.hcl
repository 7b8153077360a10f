target "kubernetes" {
  namespace = "shop"
}

target "k8s" {}

service "api" {
  image = "registry.example.com/shop/api:1.4.2"
}
