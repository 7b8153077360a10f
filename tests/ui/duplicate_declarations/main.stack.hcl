variable "region" {
  default = "eu-west-3"
}

variable "region" {
  default = "us-east-1"
}

locals {
  name = "shop-${var.region}"
}

locals {
  name = "shop"
}

target "aws" {
  region = var.region
}

target "aws" {}

component "worker" {
  param "image" {
    type = string
  }
  param "image" {
    type = string
  }
}

output "name" {
  value = local.name
}

output "name" {
  value = local.name
}
