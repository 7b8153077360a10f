service "a" {
  image = "registry.example.com/a:1"
  env   = { PEER = service.b.name }
}

service "b" {
  image = "registry.example.com/b:1"
  env   = { PEER = service.a.name }
}
