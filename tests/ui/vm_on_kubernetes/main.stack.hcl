target "kubernetes" {
  namespace = "shop"
}

vm "bastion" {
  image = "ubuntu-24.04"
}
