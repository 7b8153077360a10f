region = "eu-west-3"

variable "replicas" {
  type    = number
  defualt = 2
}
