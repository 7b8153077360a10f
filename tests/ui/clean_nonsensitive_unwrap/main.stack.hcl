secret "db_password" {
  generate { length = 32 }
}

# A hash of a secret may be shown: unwrap it explicitly.
output "password_fingerprint" {
  value = nonsensitive(substr(sha256(secret.db_password.value), 0, 8))
}

service "api" {
  image = "registry.example.com/shop/api:1.4.2"
  env   = { PASSWORD_LENGTH = nonsensitive(tostring(length(secret.db_password.value))) }
}

target "kubernetes" { namespace = "shop" }
