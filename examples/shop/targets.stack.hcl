# Where the shop runs: `--target local` (Docker Engine), `--target aws`,
# `--target kubernetes`.

target "local" {}

target "aws" {
  region = "eu-west-3"
  ami    = "ami-0123456789abcdef0" # the database instances' machine image
}

target "kubernetes" {
  namespace = "shop"
}
