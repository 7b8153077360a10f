# A blog: a CMS (two replicas sharing one media volume) behind a load
# balancer, its MySQL database, a search index that keeps one volume per
# instance, the CMS configuration, and generated secrets.
#
#   stackc check examples/blog
#   stackc build examples/blog --target kubernetes -o out/
#   stackc plan examples/blog --target local

variable "cms_image" {
  type    = string
  default = "ghost:5.87-alpine"
}

variable "public_url" {
  type    = string
  default = "https://blog.example.com"
}

secret "db_password" {
  generate { length = 24 }
}

# Meilisearch master key: letters and digits only.
secret "search_key" {
  generate {
    length  = 40
    special = false
  }
}

config "cms" {
  data = {
    url                            = var.public_url
    NODE_ENV                       = "production"
    database__client               = "mysql"
    database__connection__user     = "root"
    database__connection__database = "blog"
    mail__transport                = "SMTP"
  }
}

# Uploaded images and themes, shared by the CMS replicas.
volume "media" {
  size   = "10Gi"
  access = "ReadWriteMany"
}

database "content" {
  engine        = "mysql"
  storage       = "10Gi"
  password      = secret.db_password
  database_name = "blog"
}

# Each search instance keeps its index on its own volume.
stateful "search" {
  image      = "getmeili/meilisearch:v1.8"
  instances  = 2
  port       = 7700
  storage    = "5Gi"
  mount_path = "/meili_data"
  env        = { MEILI_ENV = "production" }
  secret_env = { MEILI_MASTER_KEY = secret.search_key }
  health { path = "/health" }
}

service "cms" {
  image    = var.cms_image
  replicas = 2
  port     = 2368
  env = {
    database__connection__host = database.content.host
    search__url                = "http://${stateful.search.host}:7700"
  }
  secret_env = {
    database__connection__password = secret.db_password
    search__key                    = secret.search_key
  }
  config_from = [config.cms]
  volumes     = { "/var/lib/ghost/content" = volume.media }
  resources {
    cpu    = "200m"
    memory = "512Mi"
  }

  health { path = "/ghost/api/admin/site/" }
}

load_balancer "web" {
  port = 80
  to   = service.cms
}

output "url" {
  value = load_balancer.web.url
}

target "kubernetes" {
  namespace = "blog"
}

target "local" {}
