# tidy.awk: turns swift-argument-parser's generated mdoc into a page that `mandoc -T lint` and
# `groff -ww` accept without warnings (run by `make generate`, which passes -v version=X.Y.Z):
#   - .Os gets the name and version ("sriovctl 0.1.0"), for the page's footer;
#   - a blank line (a paragraph break in a command's discussion) becomes .Pp, and a paragraph
#     break right before an item, a list's end or a section (the plugin puts one between option
#     groups) is dropped: mdoc does not allow one there;
#   - indented lines (examples, tables) are a literal display (.Bd -literal), kept as they are,
#     without a .Pp before it (a display brings its own space);
#   - each sentence of any other text line starts a line of its own ("new sentence, new line": that
#     is how mdoc knows where a sentence ends).
function sentences(line,    out) {
  out = ""
  while (match(line, /[^ ][.?!] +[A-Z]/)) {
    out = out substr(line, 1, RSTART + 1) "\n"
    line = substr(line, RSTART + 2)
    sub(/^ +/, "", line)
  }
  return out line
}
function emit(line) {
  if (line ~ /^  / && !literal) { print ".Bd -literal"; literal = 1 }
  if (line !~ /^  / && literal) { print ".Ed"; literal = 0 }
  if (line ~ /^[^. ']/) print sentences(line); else print line
}
/^\.Os$/ { $0 = ".Os sriovctl " version }
/^$/ || /^\.Pp$/ { pending = 1; next }
{
  if (pending && literal) { print ".Ed"; literal = 0 }
  # A display (.Bd) brings its own space.
  if (pending && $0 !~ /^\.(It|El|Sh|Ss)( |$)/ && $0 !~ /^  /) print ".Pp"
  pending = 0
  emit($0)
}
END { if (literal) print ".Ed" }
