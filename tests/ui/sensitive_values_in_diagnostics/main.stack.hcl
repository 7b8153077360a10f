# A sensitive value never appears in a diagnostic: not through a
# validation message that interpolates it, not in a type mismatch.
variable "token" {
  type      = string
  sensitive = true
  validation {
    condition = length(var.token) > 20
    message   = "the token ${var.token} is too short"
  }
}

variable "pin" {
  type      = number
  sensitive = true
}

output "pin" {
  value     = var.pin
  sensitive = true
}
