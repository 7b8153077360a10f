variable "api_replicas" {
  type    = number
  default = 1
  validation {
    condition = var.api_replicas >= 2
    message   = "Keep at least two replicas so one can restart without downtime."
  }
}
