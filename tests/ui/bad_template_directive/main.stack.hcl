variable "replicas" {
  type    = number
  default = 2
}

variable "name" {
  type    = string
  default = "api"
}

output "mode" {
  value = "%{ if var.replicas }ha%{ else }single%{ endif }"
}

output "letters" {
  value = "%{ for c in var.name }${c},%{ endfor }"
}
