resource "random_password" "token" {
  lenght = 32
}
