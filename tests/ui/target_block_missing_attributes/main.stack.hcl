# The aws target block leaves out `region` (the stack's network needs it)
# and `ami` (the database instances' machine image): the problems are found
# in the stdlib's bodies and point back at the target block and the instance.
database "main" {
  instances = 2
}

target "aws" {}
