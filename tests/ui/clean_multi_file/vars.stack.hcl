variable "replicas" {
  type    = number
  default = 2
}

locals {
  version = "2.${1 + 1}.0"
}

output "web_url" {
  value = load_balancer.public.url
}

target "kubernetes" {
  namespace = "ui"
}
