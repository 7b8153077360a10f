variable "replicas" {
  type    = number
  default = "two"
}
