#!/usr/bin/env bash
# Install everything tlsdoctor and its tests need on a fresh Debian machine. Idempotent.
#
#   - Debian packages: nginx (the lab's real-peer backend), faketime (clock-skew tests), a Java
#                      runtime (Spark, for `tlsdoctor fleet --engine spark`) and chromium
#                      (the fleet HTML report is tested in a real headless browser);
#                      lighttpd, haproxy and h2o (real servers `tlsdoctor torture` is tested
#                      against; their system services are kept from starting)
#   - .venv/            tlsdoctor itself, editable, with its test extras
#   - .venv-mitmproxy/  mitmproxy in its own venv: it pins an older `cryptography` than
#                       tlsdoctor needs, so it is run as a program, never imported. A link
#                       .venv/bin/mitmdump points at it, which is where tlsdoctor looks.
#   - .venv-sslyze/     sslyze, likewise (a test checks the lab's chains with it)
#
# It prints one line per step; each step's own output goes to .install.log, and is shown
# (its last lines) only when the step fails. To add a step: write a function, add it to
# the list at the bottom. To add a Debian package: one `need` line in apt_packages.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
LOG=.install.log
: >"$LOG"

# step NAME COMMAND...: run COMMAND quietly, say in one line how it went.
step() {
    local name=$1 started=$SECONDS
    shift
    echo "== $name" >>"$LOG"
    if "$@" >>"$LOG" 2>&1; then
        echo "install: $name ($((SECONDS - started)) s)"
    else
        local status=$?
        echo "install: $name FAILED (exit $status); the end of $LOG:" >&2
        tail -n 30 "$LOG" >&2
        exit "$status"
    fi
}

pip_quiet() {  # pip without its chatter (upgrade notices, and ignored-index warnings on some machines)
    "$@" -q --disable-pip-version-check --no-input
}

apt_packages() {
    local missing=() servers=()
    need() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || missing+=("$2"); }
    server() { [ -x "$1" ] || servers+=("$2"); }  # a server package whose service must not start
    need nginx nginx-light        # the lab's real-peer backend
    need faketime faketime        # clock-skew tests run tlsdoctor under a shifted clock
    need openssl openssl          # openssl s_server: an OpenSSL 3.0 server with a 1024-bit DH group
    need java default-jre-headless  # Spark, for `tlsdoctor fleet --engine spark`
    need chromium chromium        # the fleet HTML report is tested in a real headless browser
    server /usr/sbin/lighttpd lighttpd  # real servers `tlsdoctor torture` is tested against
    server /usr/sbin/haproxy haproxy
    server /usr/bin/h2o h2o
    missing+=("${servers[@]}")
    [ ${#missing[@]} -eq 0 ] && { echo "none missing"; return 0; }
    local sudo="" policy=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "apt-get install ${missing[*]}"
    $sudo apt-get update -qq
    # The torture tests start these servers themselves, on loopback; their packages must not
    # start system services listening on every address (policy-rc.d 101: "do not start").
    if [ ${#servers[@]} -gt 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
        $sudo chmod 755 /usr/sbin/policy-rc.d
        policy=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
    [ -z "$policy" ] || $sudo rm -f /usr/sbin/policy-rc.d
}

tlsdoctor_venv() {
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
    pip_quiet .venv/bin/python -m pip install --upgrade pip
    pip_quiet .venv/bin/python -m pip install -e '.[test,fleet,spark]'
}

mitmproxy_venv() {
    if [ ! -x .venv-mitmproxy/bin/mitmdump ]; then
        "$PYTHON" -m venv .venv-mitmproxy
        pip_quiet .venv-mitmproxy/bin/python -m pip install mitmproxy
    fi
    ln -sf "$PWD/.venv-mitmproxy/bin/mitmdump" .venv/bin/mitmdump
}

sslyze_venv() {  # the strict scanner the lab's healthy chain is checked with (own venv, same reason)
    if [ ! -x .venv-sslyze/bin/sslyze ]; then
        "$PYTHON" -m venv .venv-sslyze
        pip_quiet .venv-sslyze/bin/python -m pip install sslyze
    fi
    ln -sf "$PWD/.venv-sslyze/bin/sslyze" .venv/bin/sslyze
}

step "Debian packages (nginx, faketime, openssl, Java, chromium, lighttpd, haproxy, h2o)" apt_packages
step "tlsdoctor in .venv (editable, with test, fleet and spark extras)" tlsdoctor_venv
step "mitmproxy in .venv-mitmproxy" mitmproxy_venv
step "sslyze in .venv-sslyze" sslyze_venv
echo "install: done ($(.venv/bin/tlsdoctor --version), $(.venv/bin/mitmdump --version 2>/dev/null | head -1))"
