locals {
  port = tonumber("eighty")
}
