variable "replicas" {
  default = 2
}

locals {
  doubled = "x" * var.replicas
}
