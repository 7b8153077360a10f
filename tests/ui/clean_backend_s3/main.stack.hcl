backend "s3" {
  bucket   = "acme-stackc-states"
  key      = "shop"
  region   = "eu-west-3"
}

target "aws" {
  region = "eu-west-3"
}
