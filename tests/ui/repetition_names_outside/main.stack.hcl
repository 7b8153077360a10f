resource "random_password" "token" {
  length = 16 + count.index
}

service "api" {
  image = "registry.example.com/shop/api:${each.key}"
  env   = { NAME = self.name }
}
