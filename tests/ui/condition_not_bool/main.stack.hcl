variable "replicas" {
  default = 2
}

locals {
  mode = var.replicas ? "ha" : "single"
}
