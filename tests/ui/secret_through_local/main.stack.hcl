variable "api_token" {
  type      = string
  sensitive = true
  default   = "dev-token"
}

locals {
  settings = {
    MODE  = "production"
    TOKEN = var.api_token
  }
}

config "app" {
  data = local.settings
}
