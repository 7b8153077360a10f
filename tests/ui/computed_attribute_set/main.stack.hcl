resource "random_password" "token" {
  length = 32
  result = "hunter2"
}
