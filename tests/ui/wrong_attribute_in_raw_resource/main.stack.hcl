# Raw provider resources at the top level. The built-in one is expanded for
# both targets and reported once; the one inside `on "aws"` only for aws.
resource "stackc_data" "seed" {
  inptu = { region = "eu-west-3" }
}

on "aws" {
  resource "aws_ecs_cluster" "tools" {
    name          = "tools"
    capacity_size = 2
  }
}

target "aws" {
  region = "eu-west-3"
}

target "local" {}
