variable "ports" {
  type = list(integer)
}
