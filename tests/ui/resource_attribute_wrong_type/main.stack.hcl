# Values of raw resources are checked against the provider's schema.
resource "random_password" "token" {
  length  = "thirty-two"
  special = false
}

resource "time_sleep" "settle" {
  create_duration = "30s"
  triggers        = ["a", "b"]
}
