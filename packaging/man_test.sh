#!/usr/bin/env bash
# ctest man_pages: every man page (docs/man/NAME.SECTION.md, built with
# pandoc into DORADO_MAN_DIR/NAME.SECTION.gz) is there, renders with
# `man -l` and `groff -man -ww` without a warning, has its NAME(SECTION)
# header and NAME line, and stays true to its program:
#   - it names every option that the program's --help lists (and, for
#     dorado-leases and dorado-migrate, every subcommand's --help; for
#     doradoctl, every command its --help lists);
#   - every option its OPTIONS section describes is in that --help (-h and
#     --help aside).
# Environment: DORADO_MAN_DIR, DORADO_MAN_SOURCE_DIR, DORADO_BIN,
# DORADOCTL_BIN, DORADO_GEN_BIN, DORADO_DECODE_BIN, DORADO_LEASES_BIN,
# DORADO_MIGRATE_BIN.
set -euo pipefail
: "${DORADO_MAN_DIR:?}" "${DORADO_MAN_SOURCE_DIR:?}"

failed=0
checks=0
problem() { echo "FAIL $*"; failed=$((failed + 1)); }
ok() { checks=$((checks + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# options_of TEXT: the options in the option column of --help lines.
options_of() {
  grep -E '^ +-' | sed -E 's/^ +//; s/ {2,}.*//' |
    grep -oE '(^|[ ,])--?[A-Za-z][A-Za-z0-9-]*' | tr -d ' ,' | sort -u
}
# plain ROFF: the page's text with font escapes gone and \- as -.
plain() { sed -E 's/\\f\[[A-Z]*\]//g; s/\\f[BIRP]//g; s/\\-/-/g; s/\\\[aq\]/'"'"'/g' "$1"; }
mentions() { grep -qE -- "(^|[^A-Za-z0-9-])$2([^A-Za-z0-9-]|\$)" "$1"; }

for entry in dorado.8:DORADO_BIN doradoctl.8:DORADOCTL_BIN dorado-gen.8:DORADO_GEN_BIN \
             dorado-leases.8:DORADO_LEASES_BIN dorado-migrate.8:DORADO_MIGRATE_BIN \
             dorado-decode.1:DORADO_DECODE_BIN dorado.toml.5:; do
  page=${entry%%:*}
  var=${entry#*:}
  name=${page%.*}
  section=${page##*.}
  gz=$DORADO_MAN_DIR/$page.gz
  if [[ ! -f $gz ]]; then
    problem "$page: not built: $gz is missing (pandoc not installed? tools/setup-deps.sh installs it)"
    continue
  fi
  if [[ $gz -ot $DORADO_MAN_SOURCE_DIR/$page.md ]]; then
    problem "$page: $gz is older than docs/man/$page.md: build again"
  fi
  zcat "$gz" >"$tmp/$page"
  plain "$tmp/$page" >"$tmp/$page.txt"

  # Renders: groff with every warning, then man as a reader runs it.
  warnings=$(groff -man -Tutf8 -ww -z "$tmp/$page" 2>&1 || echo "groff exited $?")
  if [[ -n $warnings ]]; then problem "$page: groff -man -ww: $warnings"; else ok; fi
  if ! MANWIDTH=80 man -l "$gz" >"$tmp/$page.out" 2>"$tmp/$page.err" || [[ -s $tmp/$page.err ]]; then
    problem "$page: man -l: $(head -c 400 "$tmp/$page.err")"
  else
    ok
  fi
  upper=$(tr '[:lower:]' '[:upper:]' <<<"$name")
  if head -n 1 "$tmp/$page.out" | grep -qF "$upper($section)"; then ok; else
    problem "$page: header is not $upper($section): $(head -n 1 "$tmp/$page.out")"
  fi
  if grep -qE "^ +$name +- " "$tmp/$page.out"; then ok; else problem "$page: no NAME line \"$name - ...\""; fi

  [[ -n $var ]] || continue
  bin=${!var:-}
  if [[ ! -x $bin ]]; then problem "$page: no program to compare with ($var=$bin)"; continue; fi
  "$bin" --help >"$tmp/$name.help" 2>&1 || { problem "$page: $name --help exited $?"; continue; }
  subcommands=()
  case $name in
    dorado-leases) subcommands=(import export list) ;;
    dorado-migrate) subcommands=(kea-config) ;;
  esac
  if [[ ${#subcommands[@]} -gt 0 ]]; then
    for sub in "${subcommands[@]}"; do
      "$bin" "$sub" --help >>"$tmp/$name.help" 2>&1 || problem "$page: $name $sub --help exited $?"
    done
  fi
  help_options=$(options_of <"$tmp/$name.help")
  [[ -n $help_options ]] || problem "$page: found no option in $name --help"
  for opt in $help_options; do
    if mentions "$tmp/$page.txt" "$opt"; then ok; else problem "$page: does not mention $opt (in $name --help)"; fi
  done
  if [[ $name == doradoctl ]]; then
    commands=$(sed -n '/^Commands:/,/^$/p' "$tmp/$name.help" | grep -oE '^  [a-z][a-z0-9-]+' | tr -d ' ')
    [[ -n $commands ]] || problem "$page: found no command in $name --help"
    for c in $commands; do
      if mentions "$tmp/$page.txt" "$c"; then ok; else problem "$page: does not mention the command $c (in $name --help)"; fi
    done
  fi
  # The other way: each option the OPTIONS section describes exists.
  page_options=$(sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$tmp/$page.txt" | grep -A1 '^\.TP' | grep -v '^\.TP\|^--$' |
                 grep -oE '(^|[ ,|])--?[A-Za-z][A-Za-z0-9-]*' | tr -d ' ,|' | sort -u)
  for opt in $page_options; do
    [[ $opt == -h || $opt == --help ]] && continue   # every program takes them
    if mentions "$tmp/$name.help" "$opt"; then ok; else problem "$page: OPTIONS describes $opt, which $name --help does not list"; fi
  done
done

echo "man pages: $((checks + failed)) checks, $failed failed"
[[ $failed -eq 0 ]]
