secret "db_password" {
  generate { length = 32 }
}

output "password" {
  value     = secret.db_password.value
  sensitive = true
}

target "kubernetes" {
  namespace = "ui"
}
