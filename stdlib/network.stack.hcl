# stdlib: `network`, what every other construct of a stack runs in. Users do
# not write it: expansion creates one instance, `network.main`, for the
# selected target (when that target has a body here), and component bodies
# read its outputs as `network.<output>` (e.g. `network.vpc_id`).
# Conventions: see the header of service.stack.hcl.

component "network" {
  param "cidr_block" {
    type        = string
    default     = "10.0.0.0/16"
    description = "aws: the VPC address range (the two subnets are 10.0.0.0/24 and 10.0.1.0/24)."
  }

  output "namespace" {
    type        = string
    description = "kubernetes: the namespace objects go in (null: the context's default)."
  }

  output "name" {
    type        = string
    description = "local: the Docker network's name."
  }

  output "vpc_id" {
    type = string
  }

  output "subnet_ids" {
    type = list(string)
  }

  output "availability_zones" {
    type = list(string)
  }

  output "security_group_id" {
    type        = string
    description = "aws: traffic between the stack's workloads."
  }

  output "public_security_group_id" {
    type        = string
    description = "aws: load balancers, open to the internet on their ports."
  }

  output "cluster_arn" {
    type        = string
    description = "aws: the ECS cluster services run in."
  }

  output "execution_role_arn" {
    type = string
  }

  # The namespace, when the target names one.
  on "kubernetes" {
    resource "kubernetes_manifest" "namespace" {
      count = target.namespace == null ? 0 : 1
      manifest = {
        apiVersion = "v1"
        kind       = "Namespace"
        metadata = {
          name   = target.namespace
          labels = { "app.kubernetes.io/managed-by" = "stackc" }
        }
      }
    }

    output "namespace" {
      value = target.namespace
    }
  }

  # A VPC with two public subnets in two zones, security groups, and the
  # ECS cluster and task execution role the services share.
  on "aws" {
    resource "aws_vpc" "main" {
      cidr_block           = param.cidr_block
      enable_dns_support   = true
      enable_dns_hostnames = true
      tags                 = { Name = self.stack, "managed-by" = "stackc" }
    }

    resource "aws_internet_gateway" "main" {
      vpc_id = aws_vpc.main.id
    }

    resource "aws_route_table" "public" {
      vpc_id = aws_vpc.main.id
      route  = [{ cidr_block = "0.0.0.0/0", gateway_id = aws_internet_gateway.main.id }]
    }

    resource "aws_subnet" "zone" {
      count                   = 2
      vpc_id                  = aws_vpc.main.id
      cidr_block              = "10.0.${count.index}.0/24"
      availability_zone       = "${target.region}${["a", "b"][count.index]}"
      map_public_ip_on_launch = true
    }

    resource "aws_route_table_association" "zone" {
      count          = 2
      subnet_id      = aws_subnet.zone[count.index].id
      route_table_id = aws_route_table.public.id
    }

    resource "aws_security_group" "internal" {
      name        = "${self.stack}-internal"
      description = "Traffic between the stack's workloads"
      vpc_id      = aws_vpc.main.id
      ingress     = [{ from_port = 0, to_port = 0, protocol = "-1", cidr_blocks = [param.cidr_block] }]
      egress      = [{ from_port = 0, to_port = 0, protocol = "-1", cidr_blocks = ["0.0.0.0/0"] }]
    }

    resource "aws_security_group" "public" {
      name        = "${self.stack}-public"
      description = "Load balancers, open to the internet"
      vpc_id      = aws_vpc.main.id
      ingress = [
        { from_port = 80, to_port = 80, protocol = "tcp", cidr_blocks = ["0.0.0.0/0"] },
        { from_port = 443, to_port = 443, protocol = "tcp", cidr_blocks = ["0.0.0.0/0"] },
      ]
      egress = [{ from_port = 0, to_port = 0, protocol = "-1", cidr_blocks = ["0.0.0.0/0"] }]
    }

    resource "aws_ecs_cluster" "main" {
      name = self.stack
    }

    resource "aws_iam_role" "execution" {
      name = "${self.stack}-ecs-execution"
      assume_role_policy = jsonencode({
        Version   = "2012-10-17"
        Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ecs-tasks.amazonaws.com" } }]
      })
      managed_policy_arns = ["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"]
    }

    output "vpc_id" {
      value = aws_vpc.main.id
    }

    output "subnet_ids" {
      value = [aws_subnet.zone[0].id, aws_subnet.zone[1].id]
    }

    output "availability_zones" {
      value = ["${target.region}a", "${target.region}b"]
    }

    output "security_group_id" {
      value = aws_security_group.internal.id
    }

    output "public_security_group_id" {
      value = aws_security_group.public.id
    }

    output "cluster_arn" {
      value = aws_ecs_cluster.main.arn
    }

    output "cluster_name" {
      value = aws_ecs_cluster.main.name
    }

    output "execution_role_arn" {
      value = aws_iam_role.execution.arn
    }
  }

  # One bridge network for the stack.
  on "local" {
    resource "docker_network" "main" {
      name   = target.network != null ? target.network : "stackc-${self.stack}"
      driver = "bridge"
      labels = { "managed-by" = "stackc" }
    }

    output "name" {
      value = docker_network.main.name
    }
  }
}
