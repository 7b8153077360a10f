# A platform team's component: its aws body misspells an attribute of
# `aws_ecs_cluster`, its kubernetes body is fine. Checking expands both
# targets; the problem is reported once, saying which target it is on.
component "cluster" {
  param "size" {
    type    = number
    default = 3
  }

  on "aws" {
    resource "aws_ecs_cluster" "main" {
      name = self.dns_name
      tgas = { team = "platform" }
    }
  }

  on "kubernetes" {
    resource "kubernetes_manifest" "quota" {
      manifest = {
        apiVersion = "v1"
        kind       = "ResourceQuota"
        metadata   = { name = self.dns_name, namespace = target.namespace }
        spec       = { hard = { pods = "${param.size * 10}" } }
      }
    }
  }
}

cluster "tools" {
  size = 2
}

target "aws" {
  region = "eu-west-3"
}

target "kubernetes" {
  namespace = "tools"
}
