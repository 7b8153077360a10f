volume "data" {
  size = 20
}
