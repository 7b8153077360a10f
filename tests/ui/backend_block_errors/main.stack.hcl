variable "bucket" {
  type    = string
  default = "states"
}

backend "s3" {
  bucket  = var.bucket
  encrypt = true
}

backend "gcs" {
  bucket = "states"
}

target "aws" {
  region = "eu-west-3"
}
