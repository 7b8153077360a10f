secret "token" {
  generate { length = 32 }
}

config "app" {
  data = { MODE = "production" }
}

service "api" {
  image       = "registry.example.com/shop/api:1.4.2"
  config_from = [config.app, secret.token]
  secret_env  = { TOKEN = config.app, OTHER = "plain" }
}
