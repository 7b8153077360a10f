variable "image_tag" {
  type = string
}

variable "zones" {
  type = list(string)
}

variable "labels" {
  type = map(string)
}

service "api" {
  image    = "registry.example.com/shop/api:${var.image_tag}"
  replicas = length(var.zones)
  env      = var.labels
}

target "kubernetes" {
  namespace = "ui"
}
