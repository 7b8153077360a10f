variable "zones" {
  type    = list(string)
  default = ["eu-west-3a", "eu-west-3b"]
}

output "zone_ids" {
  value = var.zones[*].id
}
