variable "api_token" {
  type      = string
  sensitive = true
  default   = "dev-token"
}

config "app" {
  data = { TOKEN = var.api_token }
}

output "token" {
  value = var.api_token
}
