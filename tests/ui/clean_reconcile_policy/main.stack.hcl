# Drift is only reported for the whole stack, except for the API, whose
# replicas are put back as configured.
reconcile {
  drift = "report"
}

service "api" {
  image = "registry.example.com/api:1"
  reconcile {
    drift = "revert"
  }
}

database "main" {
  engine = "postgres"
}

target "local" {}
