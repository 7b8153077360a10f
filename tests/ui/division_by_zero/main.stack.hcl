variable "total_cpu" {
  default = 4
}

variable "replicas" {
  default = 0
}

output "cpu_per_replica" {
  value = var.total_cpu / var.replicas
}
