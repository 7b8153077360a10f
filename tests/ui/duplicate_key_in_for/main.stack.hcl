variable "ports" {
  default = [
    { name = "http", port = 80 },
    { name = "http", port = 8080 },
  ]
}

output "by_name" {
  value = { for p in var.ports : p.name => p.port }
}

output "grouped" {
  value = { for p in var.ports : p.name => p.port... }
}
