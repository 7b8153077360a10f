variable "zones" {
  type    = list(string)
  default = ["a", "b", "c"]
}

locals {
  upper_zones = [for z in var.zones : upper(z)]
  by_zone     = { for i, z in var.zones : z => i }
  first       = var.zones[0]
  joined      = join(",", var.zones)
  count       = length(var.zones) > 2 ? max(1, 2, 3) : min(1, 2)
  merged      = merge({ a = 1 }, { b = 2 })
  has_b       = contains(keys(local.merged), "b")
  encoded     = base64encode(format("%s-%d", local.first, 3))
  fallback    = coalesce(null, "x")
}

output "summary" {
  value = {
    zones   = local.upper_zones
    by_zone = local.by_zone
    joined  = local.joined
    count   = local.count
    has_b   = local.has_b
    encoded = local.encoded
    other   = local.fallback
  }
}
