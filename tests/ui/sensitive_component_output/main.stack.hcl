component "api_client" {
  param "token" {
    type = sensitive(string)
  }
  param "endpoint" {
    type = string
  }
  output "authorization" {
    type  = string
    value = "Bearer ${param.token}"
  }
  output "endpoint" {
    type  = string
    value = param.endpoint
  }
}

variable "token" {
  type      = string
  sensitive = true
  default   = "dev-token"
}

api_client "partner" {
  token    = var.token
  endpoint = "https://partner.example.com"
}

output "partner_endpoint" {
  value = api_client.partner.endpoint
}
