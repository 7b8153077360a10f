variable "replicas" {
  default = 2
}

servce "web" {
  image = "x"
}

service "api" {
  image     = "registry.example.com/shop/api:1.4.2"
  replicass = var.replica
}
