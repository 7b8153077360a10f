database "main" {
  engine = "postgres"
}

load_balancer "public" {
  port = 80
  to   = database.main
}
