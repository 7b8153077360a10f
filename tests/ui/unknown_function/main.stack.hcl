locals {
  names = concatenate(["a"], ["b"])
}
