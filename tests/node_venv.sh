#!/usr/bin/env bash
# A managed-node virtualenv: node_venv.sh X.Y [PIP_SPEC...] prints the path of its python.
# node_venv.sh --interpreter X.Y prints the interpreter itself (no virtualenv).
#
# Python X.Y is looked up as pythonX.Y on PATH, then under pyenv
# (${PYENV_ROOT:-~/.pyenv}/versions/X.Y.*), then /usr/bin/pythonX.Y; none is downloaded.
# The venv gets requirements-test-node.txt (pyroute2 and the unit-test tools, pinned) or,
# when given, the PIP_SPECs instead (e.g. pyroute2==0.5.13 for an old pyroute2). It is
# built once per interpreter and requirement set, under
# ${NCT_NODE_VENVS:-~/.cache/netfilter.conntrack/node-venvs}. Progress goes to stderr.
set -euo pipefail
ONLY_INTERPRETER=0
[ "${1:-}" = --interpreter ] && { ONLY_INTERPRETER=1; shift; }
VER=${1:?usage: node_venv.sh X.Y [PIP_SPEC...]}
shift
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REQS="$HERE/../requirements-test-node.txt"

find_interpreter() {
    local c
    for c in "$(command -v "python$VER" 2>/dev/null || true)" \
             "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$VER".*/bin/python"$VER" \
             "/usr/bin/python$VER"; do
        if [ -z "$c" ] || [ ! -x "$c" ]; then continue; fi
        case "$c" in */shims/*) continue ;; esac   # pyenv's shims: its versions/ are next
        # a pyenv shim on PATH may point at another version: ask the interpreter
        if [ "$("$c" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$VER" ]; then
            echo "$c"; return 0
        fi
    done
    return 1
}

PY="$(find_interpreter)" || { echo "node_venv.sh: no Python $VER on this machine (PATH, pyenv, /usr/bin)" >&2; exit 1; }
[ "$ONLY_INTERPRETER" = 1 ] && { echo "$PY"; exit 0; }
if [ $# -gt 0 ]; then spec="$*"; else spec="$(cat "$REQS")"; fi
key="$( { "$PY" -VV; echo "$spec"; } | sha256sum | cut -c1-12)"
DIR="${NCT_NODE_VENVS:-$HOME/.cache/netfilter.conntrack/node-venvs}/py$VER-$key"
mkdir -p "$(dirname "$DIR")"
# one builder at a time (units-nodes and platform_smoke may ask at once)
exec 9>"$DIR.lock"
flock 9
if [ ! -f "$DIR/.nct-ok" ]; then
    echo "node_venv.sh: building $DIR ($PY; ${*:-$REQS})" >&2
    rm -rf "$DIR"
    mkdir -p "$(dirname "$DIR")"
    "$PY" -m venv "$DIR" >&2
    if [ $# -gt 0 ]; then
        "$DIR/bin/python" -m pip install -q "$@" >&2
    else
        "$DIR/bin/python" -m pip install -q -r "$REQS" >&2
    fi
    touch "$DIR/.nct-ok"
fi
echo "$DIR/bin/python"
