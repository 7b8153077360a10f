volume "data" {
  size = true
}
