component "worker" {
  param "image" {
    type = string
  }
  param "queue_size" {
    type = integer
  }
}

worker "mailer" {
  concurrency = 2
}
