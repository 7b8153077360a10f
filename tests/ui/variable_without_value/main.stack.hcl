variable "image_tag" {
  type = string
}

service "api" {
  image = "registry.example.com/shop/api:${var.image_tag}"
}
