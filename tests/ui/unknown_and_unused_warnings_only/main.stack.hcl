variable "region" {
  default = "eu-west-3"
}

locals {
  unused = "leftover"
}
