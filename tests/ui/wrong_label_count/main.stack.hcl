service {
  image = "registry.example.com/shop/api:1.4.2"
}

locals "values" {
  region = "eu-west-3"
}
