# stdlib: `vm`, a virtual machine. Only the aws target has one: on kubernetes
# and local a `vm` instance is error E0501 at its span.
# Conventions: see the header of service.stack.hcl.

component "vm" {
  param "image" {
    type        = string
    description = "Machine image id (AMI on aws), e.g. \"ami-0123456789abcdef0\"."
  }

  param "size" {
    type        = string
    default     = "t3.micro"
    description = "Instance type."
  }

  param "volume" {
    type        = volume
    default     = null
    description = "A `volume` attached to the machine."
  }

  param "user_data" {
    type    = string
    default = null
  }

  output "private_ip" {
    type = string
  }

  output "public_ip" {
    type = string
  }
}
