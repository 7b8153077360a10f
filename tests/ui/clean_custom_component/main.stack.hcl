component "worker" {
  param "image" {
    type = string
  }
  param "queue" {
    type = config
  }
  param "concurrency" {
    type    = number
    default = 4
    validation {
      condition = param.concurrency >= 1
      message   = "concurrency is at least 1."
    }
  }
  on "kubernetes" {
    service "main" {
      image       = param.image
      replicas    = param.concurrency
      config_from = [param.queue]
    }
  }
}

target "kubernetes" {
  namespace = "shop"
}

config "queue" {
  data = { QUEUE_URL = "amqp://queue:5672" }
}

worker "mailer" {
  image       = "registry.example.com/shop/mailer:0.3.0"
  queue       = config.queue
  concurrency = 2
}
