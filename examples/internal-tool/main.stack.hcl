# An internal tool: the support team's admin dashboard and the worker that
# renders its reports, on the company's platform (platform.stack.hcl
# overrides the stdlib's `service` and adds `worker`).
#
#   stackc check examples/internal-tool
#   stackc build examples/internal-tool -o out/

# Shared by the report API and its renderer; generated once at apply.
secret "reports_api_token" {
  generate {
    length  = 48
    special = false
  }
}

config "dashboard" {
  data = {
    REPORTS_QUEUE = "reports"
    SSO_ISSUER    = "https://sso.example.com"
  }
}

service "dashboard" {
  image       = "registry.example.com/support/dashboard:3.2.0"
  team        = "support-tools"
  replicas    = 2
  port        = 3000
  env         = { REPORTS_URL = "http://${service.report_api.name}:${service.report_api.port}" }
  config_from = [config.dashboard]
}

service "report_api" {
  image      = "registry.example.com/support/report-api:1.9.4"
  team       = "support-tools"
  secret_env = { API_TOKEN = secret.reports_api_token }
}

worker "report_renderer" {
  image       = "registry.example.com/support/report-renderer:1.9.4"
  team        = "support-tools"
  queue       = "reports"
  concurrency = 8
  replicas    = 2
  secret_env  = { API_TOKEN = secret.reports_api_token }
}

load_balancer "dashboard" {
  port = 80
  to   = service.dashboard
}

target "kubernetes" {
  namespace = "support-tools"
}
