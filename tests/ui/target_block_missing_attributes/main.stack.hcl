# The aws target block leaves out `region` (its provider needs it: one E0508
# at the block, not one error per use in the stdlib) and `ami` (the database
# instances' machine image, needed because the stdlib's `aws_instance` reads
# `target.ami`): one E0508 at the block too, not an error inside the stdlib.
database "main" {
  instances = 2
}

target "aws" {}
