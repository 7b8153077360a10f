service "frontend" {
  image = "registry.example.com/shop/frontend:2.0.0"
  port  = 3000
  env   = { API_URL = service.backend.url }
}

service "backend" {
  image = "registry.example.com/shop/backend:2.0.0"
  port  = 8080
  env   = { CALLBACK_URL = service.frontend.url }
}
