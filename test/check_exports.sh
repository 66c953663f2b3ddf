#!/bin/sh
# The module's shared object exports exactly what httpd looks up:
# shared_session_module.  (Its public hook is an optional hook, found by
# name through APR_OPTIONAL_HOOK: no function of the module is linked
# against.)  TAP output for automake's driver.
so=.libs/mod_shared_session.so
echo "1..1"
if [ ! -f "$so" ]; then
    echo "not ok 1 - $so not built"
    exit 0
fi
syms=$(nm -D --defined-only "$so" | awk '{ print $3 }' | sort | tr '\n' ' ')
if [ "$syms" = "shared_session_module " ]; then
    echo "ok 1 - $so exports shared_session_module only"
else
    echo "not ok 1 - $so exports: $syms"
fi
