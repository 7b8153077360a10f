variable "zones" {
  type    = list(string)
  default = ["a", "b"]
}

output "zone_count" {
  # Python's name for `length`.
  value = len(var.zones)
}
