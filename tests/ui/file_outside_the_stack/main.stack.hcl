# file() reads files inside the stack directory only: a stack is
# self-contained, so what was checked is what is applied.
config "app" {
  data = {
    "app.conf"  = file("conf/app.conf")
    "elsewhere" = file("../clean_minimal/main.stack.hcl")
  }
}

target "kubernetes" {
  namespace = "ui"
}
