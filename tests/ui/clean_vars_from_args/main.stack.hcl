variable "image_tag" {
  type = string
}

variable "replicas" {
  type    = number
  default = 1
}

service "api" {
  image    = "registry.example.com/shop/api:${var.image_tag}"
  replicas = var.replicas
}

target "kubernetes" {
  namespace = "ui"
}
