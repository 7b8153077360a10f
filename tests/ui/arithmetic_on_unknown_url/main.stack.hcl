service "api" {
  image = "registry.example.com/shop/api:1.4.2"
  port  = 8080
}

output "doubled" {
  # `url` is known only after apply, but it is declared a string.
  value = service.api.url * 2
}
