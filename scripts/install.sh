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
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}

need_apt=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx-light)
command -v faketime >/dev/null 2>&1 || need_apt+=(faketime)
command -v java >/dev/null 2>&1 || need_apt+=(default-jre-headless)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
servers=()
[ -x /usr/sbin/lighttpd ] || servers+=(lighttpd)
[ -x /usr/sbin/haproxy ] || servers+=(haproxy)
[ -x /usr/bin/h2o ] || servers+=(h2o)
need_apt+=("${servers[@]}")
if [ ${#need_apt[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "install: apt-get install ${need_apt[*]}"
    $sudo apt-get update -qq
    # The torture tests start these servers themselves, on loopback; their packages must not
    # start system services listening on every address (policy-rc.d 101: "do not start").
    policy=""
    if [ ${#servers[@]} -gt 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
        $sudo chmod 755 /usr/sbin/policy-rc.d
        policy=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
    [ -z "$policy" ] || $sudo rm -f /usr/sbin/policy-rc.d
fi

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,fleet,spark]'

if [ ! -x .venv-mitmproxy/bin/mitmdump ]; then
    "$PYTHON" -m venv .venv-mitmproxy
    .venv-mitmproxy/bin/python -m pip install -q --disable-pip-version-check mitmproxy
fi
ln -sf "$PWD/.venv-mitmproxy/bin/mitmdump" .venv/bin/mitmdump

# sslyze, the strict scanner the lab's healthy chain is checked with (own venv, same reason).
if [ ! -x .venv-sslyze/bin/sslyze ]; then
    "$PYTHON" -m venv .venv-sslyze
    .venv-sslyze/bin/python -m pip install -q --disable-pip-version-check sslyze
fi
ln -sf "$PWD/.venv-sslyze/bin/sslyze" .venv/bin/sslyze
echo "install: done ($(.venv/bin/tlsdoctor --version), $(.venv/bin/mitmdump --version 2>/dev/null | head -1))"
