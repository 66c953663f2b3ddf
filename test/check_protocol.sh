#!/bin/sh
# Fails unless every ticket vector of docs/PROTOCOL.md is in
# test/unit/test_ticket.c, where the unit tests open them: the document
# cannot drift from what the code is tested against.  The vectors are the
# rows of the ticket table in "Test vectors" (first cell: the version), the
# ticket being the row's last cell.  test_ticket.c is read with adjacent
# string literals joined, as the compiler joins them, and each vector must
# be one whole literal there.  TAP output for automake's driver.
top=${top_srcdir:-.}
doc="$top/docs/PROTOCOL.md"
src="$top/test/unit/test_ticket.c"

rows=$(awk '/^## / { in_vec = ($0 == "## Test vectors") }
            in_vec && /^\| *[0-9]+ *\|/' "$doc")
# "ab" "cd", "ab" \<newline> "cd" and "ab" <newline> "cd" all read as "abcd"
joined=$(tr '\n' ' ' < "$src" | sed 's/"[ \t\\]*"//g')

# the generation digests of "Generations" (the D column) must be asserted by
# test/unit/test_gen.c
digests=$(awk '/^## / { in_gen = ($0 == "## Generations") }
               in_gen && /^\| *`[0-9]+` *\|/' "$doc" \
          | sed 's/ *| *$//; s/.*| *//; s/`//g')
gensrc="$top/test/unit/test_gen.c"

n=$(printf '%s\n' "$rows" | grep -c .)
ng=$(printf '%s\n' "$digests" | grep -c .)
echo "1..$((n + 2 + ng))"
if [ "$n" -gt 0 ]; then
    echo "ok 1 - docs/PROTOCOL.md has $n ticket vectors"
else
    echo "not ok 1 - no ticket table (rows starting with a version) in \"Test vectors\" of docs/PROTOCOL.md"
fi
i=1
printf '%s\n' "$rows" | grep . | while IFS= read -r row; do
    i=$((i + 1))
    v=$(printf '%s\n' "$row" | sed 's/ *| *$//; s/.*| *//; s/^`//; s/`$//')
    short=$(printf '%s' "$v" | cut -c1-24)
    if ! printf '%s' "$v" | grep -q '^[A-Za-z0-9_-]\{60,\}$'; then
        echo "not ok $i - the last cell of a vector row is not a ticket: $short..."
    elif printf '%s\n' "$joined" | grep -qF -e "\"$v\""; then
        echo "ok $i - vector $short... is in test/unit/test_ticket.c"
    else
        echo "not ok $i - vector $short... of docs/PROTOCOL.md is not in test/unit/test_ticket.c"
    fi
done
j=$((n + 2))
if [ "$ng" -gt 0 ]; then
    echo "ok $j - docs/PROTOCOL.md has $ng generation vectors"
else
    echo "not ok $j - no generation vectors (rows starting with a T) in \"Generations\" of docs/PROTOCOL.md"
fi
printf '%s\n' "$digests" | grep . | while IFS= read -r d; do
    j=$((j + 1))
    if printf '%s' "$d" | grep -q '^[0-9a-f]\{32\}$' && grep -qF "\"$d\"" "$gensrc"; then
        echo "ok $j - generation vector $d is in test/unit/test_gen.c"
    else
        echo "not ok $j - generation vector $d of docs/PROTOCOL.md is not in test/unit/test_gen.c"
    fi
done
