# The aws target block leaves out `region` (its provider needs it: one E0508
# at the block, not one error per use in the stdlib) and `ami` (the database
# instances' machine image): found in the stdlib's body, pointing back at the
# instance.
database "main" {
  instances = 2
}

target "aws" {}
