# `--target aws` on a stack with no `target "aws"` block: the region the
# aws target needs comes from nowhere (the test runs without AWS_REGION).
service "api" {
  image = "nginx:1.27"
  port  = 80
}
