# Shared by ./dev and scripts/dev-*: messages and installing Debian packages.
# shellcheck shell=bash

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'dev: %s\n' "$*" >&2; exit 2; }

# The Debian packages the commands need (./dev deps GROUP installs them).
PKGS_BUILD="build-essential autoconf automake libtool pkg-config apache2 apache2-dev libsodium-dev libcmocka-dev"
PKGS_TEST="git python3 python3-pytest python3-requests python3-nacl redis-server memcached libaprutil1-dbd-sqlite3 sqlite3 openssl curl apache2-utils wrk python3-django gunicorn libapache2-mod-wsgi-py3 php-fpm php-cli"
PKGS_BROWSER="chromium chromium-driver python3-selenium"
PKGS_SANITIZE="valgrind clang-14 libclang-rt-14-dev"

missing_packages() {
    local installed p
    # one dpkg-query for all (unknown names are simply not listed)
    installed=" $(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "$@" 2>/dev/null \
                  | awk '$2 == "ii" { printf "%s ", $1 }')"
    for p in "$@"; do
        case "$installed" in *" $p "*) ;; *) echo "$p" ;; esac
    done
}

# The packages named and, recursively, the installed packages they depend
# on (Depends and Pre-Depends): the libraries they were built against.
installed_closure() {
    apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances --installed "$@" 2>/dev/null \
        | grep -v '^[ <]' | sort -u
}

# "name installed candidate" for each package of that closure that is older
# than the version the archive offers (apt's lists as they are: no update).
# A new apache2 next to an old libssl3 is such a case: mod_ssl then warns
# AH01882 ("compiled against a newer library") at every start.
outdated_packages() {
    local closure
    closure=$(installed_closure "$@")
    [ -n "$closure" ] || return 0
    # shellcheck disable=SC2086
    LC_ALL=C apt-cache policy $closure 2>/dev/null | awk '
        /^[^ ]/          { name = $1; sub(/:$/, "", name); inst = "" }
        /^  Installed: / { inst = $2 }
        /^  Candidate: / { if (inst != "" && inst != "(none)" && $2 != "(none)" && $2 != inst)
                               print name, inst, $2 }' \
    | while read -r name inst cand; do
        if dpkg --compare-versions "$inst" lt "$cand"; then echo "$name $inst $cand"; fi
    done
}

# apt-get, non-interactive, keeping the packages' own services (apache2 on
# :80, redis, memcached) from starting: tests start their own instances on
# free loopback ports.  Waits for a dpkg lock held by another apt.
apt_get() {
    local policy=/usr/sbin/policy-rc.d ours=0 rc=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && ours=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600 \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" \
        >/dev/null || rc=$?
    [ "$ours" = 1 ] && rm -f "$policy"
    return "$rc"
}

# Installs the packages that are missing, then upgrades the installed
# packages they depend on (recursively) where the archive has newer versions,
# so that what was just installed runs against the libraries it was built
# for.  Done on every run; as root, "apt-get update" first, at most once per
# run and once an hour (build/packages-checked.update).  The check itself is
# skipped when it already passed for the same packages, dpkg database and
# package lists (build/packages-checked): a run with nothing to do takes a
# second.  Without root: missing packages stop the run, outdated ones are
# named.
install_packages() {
    local missing outdated stamp
    stamp="${TOP:-.}/build/packages-checked"
    missing=$(missing_packages "$@" | xargs)
    if [ "$(id -u)" = 0 ] && [ -z "${DEV_APT_UPDATED:-}" ] \
       && { [ -n "$missing" ] || [ -z "$(find "$stamp.update" -mmin -60 2>/dev/null)" ]; }; then
        say "apt-get update"
        mkdir -p "$(dirname "$stamp")"
        if apt_get update; then
            DEV_APT_UPDATED=1; export DEV_APT_UPDATED
            touch "$stamp.update"
        elif [ -n "$missing" ]; then
            die "apt-get update failed"
        else
            say "apt-get update failed: checking against the package lists as they are"
        fi
    fi
    if [ -z "$missing" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$(packages_state "$@")" ]; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        [ -z "$missing" ] || die "missing Debian packages: $missing (run as root, or: sudo apt-get install $missing)"
        outdated=$(outdated_packages "$@" | awk '{print $1}' | xargs)
        if [ -n "$outdated" ]; then
            say "older than the archive's versions: $outdated (as root: apt-get install --only-upgrade $outdated)"
            return 0
        fi
    else
        if [ -n "$missing" ]; then
            say "installing: $missing"
            # shellcheck disable=SC2086
            apt_get install -y --no-install-recommends $missing || die "apt-get install failed for: $missing"
        fi
        outdated=$(outdated_packages "$@" | awk '{print $1}' | xargs)
        if [ -n "$outdated" ]; then
            say "upgrading (the archive has newer versions): $outdated"
            # shellcheck disable=SC2086
            apt_get install -y --no-install-recommends --only-upgrade $outdated \
                || die "apt-get install --only-upgrade failed for: $outdated"
        fi
    fi
    mkdir -p "$(dirname "$stamp")"
    packages_state "$@" > "$stamp"
}

# What the check above depends on: the packages, dpkg's database, apt's lists.
packages_state() {
    echo "$* $(stat -c %Y /var/lib/dpkg/status /var/lib/apt/lists 2>/dev/null | xargs)"
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
