output "url" {
  value = "https://shop.example.com"
  validation {
    condition = true
    message   = "never shown"
  }
}
