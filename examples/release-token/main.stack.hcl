# Runs anywhere: only the built-in provider's resources, which need no
# cloud, cluster or network, and no target. A release record, a generated
# API token for it, and a pause before the release is announced.
# `stackc plan` / `stackc apply` keep them in .stackc/default/state.json.
#
#   stackc check examples/release-token
#   stackc plan examples/release-token
#   stackc apply examples/release-token

variable "version" {
  type    = string
  default = "1.4.2"
}

variable "environment" {
  type    = string
  default = "staging"
  validation {
    condition = contains(["staging", "production"], var.environment)
    message   = "environment is \"staging\" or \"production\"."
  }
}

variable "settle" {
  type        = duration
  default     = "3s"
  description = "How long deployments get before the announcement."
}

locals {
  release = "${var.environment}-${var.version}"
}

# Stored in state as it is given; a changed version updates it in place.
resource "stackc_data" "release" {
  input = {
    version     = var.version
    environment = var.environment
    name        = local.release
  }
}

# Created once, kept in state (sensitive), replaced only when the
# environment changes.
resource "random_password" "api_token" {
  length  = 40
  special = false
  keepers = { environment = var.environment }
}

# Gives deployments a moment before the announcement.
resource "time_sleep" "settle" {
  create_duration = var.settle
  triggers        = { release = local.release }
  depends_on      = [stackc_data.release]
}

resource "stackc_data" "announcement" {
  input      = "Release ${stackc_data.release.output.name} is out."
  depends_on = [time_sleep.settle]
}

output "release" {
  value = stackc_data.release.output
}

output "announcement" {
  value = stackc_data.announcement.output
}

output "api_token" {
  value     = random_password.api_token.result
  sensitive = true
}
