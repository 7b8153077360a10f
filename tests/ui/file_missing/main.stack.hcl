config "nginx" {
  data = { "nginx.conf" = file("nginx.conf") }
}
