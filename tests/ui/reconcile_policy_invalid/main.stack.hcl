# The drift policy: a literal "revert" or "report", nothing else.
reconcile {
  drift = "sometimes"
  every = "30s"
}

service "api" {
  image = "registry.example.com/api:1"
  reconcile {
    drift = var.policy
  }
}

variable "policy" {
  type    = string
  default = "report"
}

target "local" {}
