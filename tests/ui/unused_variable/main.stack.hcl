variable "region" {
  default = "eu-west-3"
}

service "api" {
  image = "registry.example.com/shop/api:1.4.2"
}

target "kubernetes" {
  namespace = "ui"
}
