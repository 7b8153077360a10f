# Two components that contain each other: expanding either never ends.
component "frontend" {
  on "kubernetes" {
    backend "api" {}
  }
}

component "backend" {
  on "kubernetes" {
    frontend "web" {}
  }
}

frontend "site" {}

target "kubernetes" {
  namespace = "shop"
}
