vm "bastion" {
  image = "ubuntu-24.04"
}
