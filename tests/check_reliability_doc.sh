#!/bin/sh
# docs/reliability.md stays true to the code: every public function of include/gan.h has a
# row (and every row is a public function), and every test a cell cites, as
# `file:function` or `R:function` (tests/test_reliability.c), is defined in that file and
# registered in its cmocka list.
# Usage: check_reliability_doc.sh SOURCE_ROOT
set -eu
root=${1:?usage: check_reliability_doc.sh SOURCE_ROOT}
doc="$root/docs/reliability.md"
header="$root/include/gan.h"
status=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sed -n 's/^GAN_API .*[ *]\(gan_[a-z0-9_]*\)(.*/\1/p' "$header" | sort -u > "$tmp/api"
sed -n 's/^| `\(gan_[a-z0-9_]*\)` |.*/\1/p' "$doc" | sort > "$tmp/rows"
[ -s "$tmp/api" ] || { echo "no GAN_API functions found in $header"; exit 1; }

for f in $(comm -23 "$tmp/api" "$tmp/rows"); do
    echo "docs/reliability.md: no row for $f"
    status=1
done
for f in $(comm -13 "$tmp/api" "$tmp/rows"); do
    echo "docs/reliability.md: a row for $f, which is not in include/gan.h"
    status=1
done
dups=$(uniq -d "$tmp/rows")
if [ -n "$dups" ]; then
    echo "docs/reliability.md: rows given twice: $dups"
    status=1
fi

# Cited tests: `R:name` and test_x.c:name.
{
    grep -o '`R:[a-z0-9_][a-z0-9_]*`' "$doc" | sed 's/`R:\(.*\)`/test_reliability.c \1/'
    grep -o 'test_[a-z0-9_]*\.c:[a-z0-9_][a-z0-9_]*' "$doc" | sed 's/:/ /'
} | sort -u > "$tmp/cited"
[ -s "$tmp/cited" ] || { echo "docs/reliability.md cites no test"; exit 1; }
while read -r file fn; do
    src="$root/tests/$file"
    if [ ! -f "$src" ]; then
        echo "docs/reliability.md cites $file:$fn, but tests/$file does not exist"
        status=1
    elif ! grep -q "^static void $fn(void \*\*state)" "$src"; then
        echo "docs/reliability.md cites $file:$fn, which tests/$file does not define"
        status=1
    elif ! grep -q -E "(cmocka_unit_test|TEST)\($fn\)" "$src"; then
        echo "docs/reliability.md cites $file:$fn, which tests/$file does not run"
        status=1
    fi
done < "$tmp/cited"

[ $status -eq 0 ] && echo "docs/reliability.md: $(wc -l < "$tmp/rows") functions, $(wc -l < "$tmp/cited") tests cited, all present"
exit $status
