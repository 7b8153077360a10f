variable "zones" {
  default = ["a", "b"]
}

locals {
  numbered = [for z in var.zones : z + 1]
  filtered = [for z in var.zones : z if z]
}
