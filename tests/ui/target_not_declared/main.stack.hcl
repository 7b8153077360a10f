target "aws" {
  region = "eu-west-3"
}

target "kubernetes" {
  namespace = "shop"
}

resource "stackc_data" "seed" {
  input = { region = "eu-west-3" }
}
