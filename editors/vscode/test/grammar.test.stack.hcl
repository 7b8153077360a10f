# SYNTAX TEST "source.stackc" "stackc: blocks, attributes, expressions, templates, heredocs, comments"

service "api" {
# <------- entity.name.type.stackc
#       ^^^^^ entity.name.tag.stackc
#             ^ punctuation.section.block.begin.stackc
  image    = "shop/api:${var.version}"
# ^^^^^ variable.other.property.stackc
#          ^ keyword.operator.assignment.stackc
#            ^^^^^^^^^^ string.quoted.double.stackc
#                      ^^ punctuation.section.interpolation.begin.stackc
#                        ^^^ variable.language.stackc
#                           ^ punctuation.accessor.stackc
#                            ^^^^^^^ variable.other.member.stackc
#                                   ^ punctuation.section.interpolation.end.stackc
#                                    ^ punctuation.definition.string.end.stackc
  replicas = 3 # a comment
#            ^ constant.numeric.stackc
#              ^^^^^^^^^^^ comment.line.number-sign.stackc
  env = { URL = service.web.url, RATIO = 1.5e-3 } // another
#       ^ punctuation.section.braces.begin.stackc
#         ^^^ variable.other.property.stackc
#               ^^^^^^^ variable.other.object.stackc
#                       ^^^ variable.other.member.stackc
#                           ^^^ variable.other.member.stackc
#                                        ^^^^^^ constant.numeric.stackc
#                                               ^ punctuation.section.braces.end.stackc
#                                                 ^^^^^^^^^^ comment.line.double-slash.stackc
  health { path = "/healthz" }
# ^^^^^^ entity.name.type.stackc
#          ^^^^ variable.other.property.stackc
#                 ^^^^^^^^^^ string.quoted.double.stackc
}
# <- punctuation.section.block.end.stackc

locals {
# <------ entity.name.type.stackc
  enabled = var.debug == true && !false || null != local.x
#                     ^^ keyword.operator.comparison.stackc
#                        ^^^^ constant.language.boolean.stackc
#                             ^^ keyword.operator.logical.stackc
#                                ^ keyword.operator.logical.stackc
#                                 ^^^^^ constant.language.boolean.stackc
#                                       ^^ keyword.operator.logical.stackc
#                                          ^^^^ constant.language.null.stackc
#                                               ^^ keyword.operator.comparison.stackc
#                                                  ^^^^^ variable.language.stackc
#                                                        ^ variable.other.member.stackc
  names = [for s in var.services : upper(s.name) if s.port != null]
#         ^ punctuation.section.brackets.begin.stackc
#          ^^^ keyword.control.stackc
#                ^^ keyword.control.stackc
#                                ^ keyword.operator.conditional.stackc
#                                  ^^^^^ support.function.stackc
#                                                ^^ keyword.control.stackc
#                                                                 ^ punctuation.section.brackets.end.stackc
  by_name = { for k, v in local.m : k => v... }
#             ^^^ keyword.control.stackc
#                                     ^^ keyword.operator.stackc
#                                         ^^^ keyword.operator.spread.stackc
  greeting = "%{ if var.loud }HELLO%{ else }hello%{ endif } $${literal}\n"
#             ^^ punctuation.section.directive.begin.stackc
#                ^^ keyword.control.stackc
#                   ^^^ variable.language.stackc
#                             ^^^^^ string.quoted.double.stackc
#                                     ^^^^ keyword.control.stackc
#                                                   ^^^^^ keyword.control.stackc
#                                                           ^^^ constant.character.escape.stackc
#                                                                      ^^ constant.character.escape.stackc
  script = <<-EOT
#          ^^^ keyword.operator.heredoc.stackc
#             ^^^ keyword.control.heredoc-token.stackc
    echo ${upper(var.name)} for if { not code
#   ^^^^ string.unquoted.heredoc.stackc
#        ^^ punctuation.section.interpolation.begin.stackc
#          ^^^^^ support.function.stackc
#                           ^^^^^^^^^^^^^^^^^ string.unquoted.heredoc.stackc
    EOT
#   ^^^ keyword.control.heredoc-token.stackc
  after = "still highlighted" /* block
# ^^^^^ variable.other.property.stackc
#         ^^^^^^^^^^^^^^^^^^^ string.quoted.double.stackc
#                             ^^^^^^^^ comment.block.stackc
  comment */ x = 1
# ^^^^^^^^^^ comment.block.stackc
#            ^ variable.other.property.stackc
#                ^ constant.numeric.stackc
}

param "port" {
# <----- entity.name.type.stackc
#     ^^^^^^ entity.name.tag.stackc
  type = optional(number)
#        ^^^^^^^^ support.type.stackc
#                 ^^^^^^ support.type.primitive.stackc
  default = provider::stackc::upper(-1 * (2 + 3) % 4)
#           ^^^^^^^^^^^^^^^^^^^^^^^ support.function.stackc
#                                   ^ keyword.operator.arithmetic.stackc
#                                      ^ keyword.operator.arithmetic.stackc
#                                        ^ punctuation.section.parens.begin.stackc
#                                                ^ keyword.operator.arithmetic.stackc
  validation {
# ^^^^^^^^^^ entity.name.type.stackc
    condition = contains(["a", "b"], param.port) ? true : false
#               ^^^^^^^^ support.function.stackc
#                         ^^^ string.quoted.double.stackc
#                                    ^^^^^ variable.language.stackc
#                                          ^^^^ variable.other.member.stackc
#                                                ^ keyword.operator.conditional.stackc
  }
# ^ punctuation.section.block.end.stackc
}
# <- punctuation.section.block.end.stackc
