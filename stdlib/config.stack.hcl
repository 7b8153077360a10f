# stdlib: `config`, plain configuration data (keys to strings) for workloads.
# A sensitive value here is an error (E0402): use a `secret`.
# Conventions: see the header of service.stack.hcl.

component "config" {
  param "data" {
    type        = map(string)
    description = "Keys to values; mounted as one file per key or passed as env vars."
  }

  output "name" {
    type  = string
    value = self.name
  }
}
