# Shared by ./dev and scripts/dev-*: messages and installing Debian packages.
# shellcheck shell=bash

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'dev: %s\n' "$*" >&2; exit 2; }

missing_packages() {
    local p missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    printf '%s\n' "${missing[@]}"
}

install_packages() {
    local missing
    missing=$(missing_packages "$@" | xargs)
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" != 0 ]; then
        die "missing Debian packages: $missing (run as root, or: sudo apt-get install $missing)"
    fi
    say "installing: $missing"
    # keep the packages' own services (apache2 on :80, redis, memcached) from
    # starting: tests start their own instances on free loopback ports
    local policy=/usr/sbin/policy-rc.d ours=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && ours=1
    fi
    local rc=0
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends $missing >/dev/null; } || rc=$?
    [ "$ours" = 1 ] && rm -f "$policy"
    [ "$rc" = 0 ] || die "apt-get install failed for: $missing"
}


# Apache's children run as www-data: they must be able to reach the test
# and demo trees under this checkout.  A clone in a 0700 directory (/root,
# a mktemp -d folder) would answer 403 everywhere: give every directory
# from / down to the checkout the search bit (x, not r) for others.
ensure_traversable() {
    [ "$(id -u)" = 0 ] || return 0
    local d=$1
    while [ -n "$d" ] && [ "$d" != / ]; do
        if [ -d "$d" ] && [ "$(( $(stat -c '%a' "$d" | sed 's/^0*//;s/^$/0/') % 2 ))" = 0 ]; then
            say "chmod o+x $d (apache2's www-data children must reach $1)"
            chmod o+x "$d"
        fi
        d=$(dirname "$d")
    done
}
