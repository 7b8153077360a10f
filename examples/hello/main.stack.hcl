# Hello: three replicas of a tiny web server built from ./web (busybox
# httpd), behind a load balancer on localhost. Made for the local target:
#
#   stackc apply examples/hello --auto-approve
#   for i in 1 2 3 4 5 6; do curl -s localhost:8080; done   # replicas take turns
#   stackc destroy examples/hello --auto-approve

variable "port" {
  type    = number
  default = 8080
}

service "web" {
  image    = "hello-web"
  build    = "./web"
  replicas = 3
  port     = 8080
  health { path = "/healthz" }
}

load_balancer "public" {
  port = var.port
  to   = service.web
}

output "url" {
  value = load_balancer.public.url
}

target "local" {}
