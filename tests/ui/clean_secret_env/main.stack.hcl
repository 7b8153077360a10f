secret "db_password" {
  generate { length = 32 }
}

service "api" {
  image      = "registry.example.com/shop/api:1.4.2"
  secret_env = { DB_PASSWORD = secret.db_password }
}

target "kubernetes" {
  namespace = "ui"
}
