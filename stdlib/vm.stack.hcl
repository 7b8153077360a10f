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

  # An EC2 instance in the stack's first subnet, with the volume attached.
  on "aws" {
    resource "aws_instance" "main" {
      ami                    = param.image
      instance_type          = param.size
      subnet_id              = network.subnet_ids[0]
      vpc_security_group_ids = [network.security_group_id]
      user_data              = param.user_data
      tags                   = { Name = self.dns_name, "managed-by" = "stackc" }
    }

    resource "aws_volume_attachment" "main" {
      count       = param.volume == null ? 0 : 1
      device_name = "/dev/sdf"
      instance_id = aws_instance.main.id
      volume_id   = param.volume.id
    }

    output "private_ip" {
      value = aws_instance.main.private_ip
    }

    output "public_ip" {
      value = aws_instance.main.public_ip
    }
  }
}
