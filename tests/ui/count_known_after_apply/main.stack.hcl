resource "stackc_data" "seed" {
  input = { count = 2 }
}

resource "random_password" "token" {
  count  = length(stackc_data.seed.id)
  length = 32
}
