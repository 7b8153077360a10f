component "worker" {
  param "queue" {
    type = queu
  }
}
