volume "uploads" {
  size = "20GB"
}
