target "kubernetes" {
  namespace = "shop"
}

on "kubernets" {
  resource "kubernetes_manifest" "quota" {
    manifest = {
      apiVersion = "v1"
      kind       = "ResourceQuota"
      metadata   = { name = "shop", namespace = "shop" }
      spec       = { hard = { pods = "20" } }
    }
  }
}
