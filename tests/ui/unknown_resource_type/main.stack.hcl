resource "stackc_dta" "seed" {
  input = { region = "eu-west-3" }
}
