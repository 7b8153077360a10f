database "main" {
  engine = "postgres"
}

service "api" {
  image = "registry.example.com/shop/api:1.4.2"
  env   = { DATABASE_URL = database.main.uri }
}
