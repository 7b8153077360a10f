service "api" {
  replicas = 2
}
