resource "random_password" "admin" {
  length = 24
}

output "admin_password" {
  value = random_password.admin.result
}

output "admin_password_length" {
  value = random_password.admin.length
}
