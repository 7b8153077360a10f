secret "db_password" {
  generate { length = 32 }
}

output "shouting" {
  value = upper(secret.db_password.value)
}

service "api" {
  image = "registry.example.com/shop/api:1.4.2"
  env   = { DB_HINT = "pw=${substr(secret.db_password.value, 0, 2)}" }
}
