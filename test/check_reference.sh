#!/bin/sh
# Fails when the directives of the module and of the annotated reference
# shared_session.conf differ (TAP output for automake's driver).
top=${top_srcdir:-.}
code=$(grep -o 'AP_INIT_[A-Z0-9]*("SharedSession[A-Za-z]*"' "$top/mod_shared_session.c" \
       | sed 's/.*("//; s/"$//' | sort -u)
ref=$(grep -o '^#* *SharedSession[A-Za-z]*' "$top/shared_session.conf" \
      | sed 's/^#* *//' | sort -u)
echo "1..3"
if [ -n "$code" ] && [ "$code" = "$ref" ]; then
    echo "ok 1 - shared_session.conf documents exactly the directives of mod_shared_session.c"
else
    echo "not ok 1 - directives differ between mod_shared_session.c and shared_session.conf"
    echo "# code: $(echo $code)"
    echo "# reference: $(echo $ref)"
fi
# every directive has a Syntax/Default/Context block in the reference
missing=""
for d in $code; do
    awk -v d="$d" '/^# SharedSession[A-Za-z]+ *$/ {cur=$2}
                   cur == d && /^# +Syntax:/ {s=1} cur == d && /^# +Default:/ {df=1}
                   cur == d && /^# +Context:/ {c=1} END {exit !(s && df && c)}' "$top/shared_session.conf" \
        || missing="$missing $d"
done
if [ -z "$missing" ]; then
    echo "ok 2 - every directive has Syntax, Default and Context in shared_session.conf"
else
    echo "not ok 2 - no Syntax/Default/Context block for:$missing"
fi
# the README's directive reference has a section for every directive
missing=""
for d in $code; do
    grep -q "^### $d\$" "$top/README.md" || missing="$missing $d"
done
if [ -z "$missing" ]; then
    echo "ok 3 - README.md has a reference section for every directive"
else
    echo "not ok 3 - README.md has no '### Directive' section for:$missing"
fi
