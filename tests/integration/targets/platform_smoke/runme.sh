#!/usr/bin/env bash
# Every module under every managed-node Python: 3.9, 3.10, 3.11, 3.12 and 3.13 with pip's
# pyroute2 (tests/node_venv.sh builds their virtualenvs from pyenv's or the distribution's
# interpreters), Debian's /usr/bin/python3 with Debian's python3-pyroute2, and Python 3.9
# with the oldest pyroute2 the collection admits (PYROUTE2_MIN), 3.12 with the oldest there
# (PYROUTE2_MIN_PY312). Then the nodes that cannot work: Python 3.8, a pyroute2 older than
# PYROUTE2_MIN, and pyroute2 0.5 on 3.12, must fail with a message naming both versions.
#
# The development controller (the ansible-core of requirements-test.txt) runs the whole
# node matrix; other controllers (tests/run.sh smoke-controllers) run its ends:
# 3.9, 3.13 and Debian's python3.
set -eu
cd "$(dirname "$0")"
FULL_CONTROLLER=2.21
PYROUTE2_FLOOR_TOO_OLD=0.4.21   # does not even import on 3.9 (a syntax error)

# The collection: ansible-test runs a copy of this directory, so look on the collections
# path it sets (ANSIBLE_COLLECTIONS_PATH), then above this directory (a checkout).
COLL_ROOT=""
IFS=: read -ra _paths <<< "${ANSIBLE_COLLECTIONS_PATH:-}:${ANSIBLE_COLLECTIONS_PATHS:-}"
for _p in "${_paths[@]}" "$(cd ../../../.. && pwd)"; do
    for _c in "$_p/ansible_collections/netfilter/conntrack" "$_p"; do
        if [ -n "$_p" ] && [ -x "$_c/tests/node_venv.sh" ]; then COLL_ROOT=$_c; break 2; fi
    done
done
[ -n "$COLL_ROOT" ] || { echo "platform_smoke: cannot find the collection (tests/node_venv.sh)"; exit 1; }

# Every module has its smoke tasks.
missing=()
for m in "$COLL_ROOT"/plugins/modules/*.py; do
    m=$(basename "$m" .py)
    [ -f "modules/$m.yml" ] || missing+=("$m")
done
[ ${#missing[@]} -eq 0 ] || { echo "platform_smoke: no modules/<name>.yml for: ${missing[*]}"; exit 1; }

PYROUTE2_MIN=$(sed -n "s/^PYROUTE2_MIN = '\(.*\)'/\1/p" "$COLL_ROOT/plugins/module_utils/_deps.py")
PYROUTE2_MIN_PY312=$(sed -n "s/^PYROUTE2_MIN_PY312 = '\(.*\)'/\1/p" "$COLL_ROOT/plugins/module_utils/_deps.py")
PYROUTE2_PIP=$(sed -n 's/^pyroute2==//p' "$COLL_ROOT/requirements-test-node.txt")
CONTROLLER=$(ansible --version | sed -n '1s/.*core \([0-9]*\.[0-9]*\).*/\1/p')
# namespaces of their own per controller: smoke-controllers may run beside integration
PREFIX=nct7_smk${CONTROLLER//./}
if [ "$CONTROLLER" = "$FULL_CONTROLLER" ]; then NODES="3.9 3.10 3.11 3.12 3.13"; else NODES="3.9 3.13"; fi

WORK=$(mktemp -d /tmp/nct7-smoke.XXXXXX)
cleanup() {
    for ns in $(ip netns list | awk '{print $1}' | grep "^${PREFIX}" || true); do
        ip netns del "$ns" || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

host() {  # host NAME PYTHON NODE_PYTHON PYROUTE2_VERSION
    echo "    $1: {ansible_python_interpreter: '$2', node_python: '$3', node_pyroute2_version: '$4', smoke_ns: '${PREFIX}-$1'}"
}
{
    echo "all:"
    echo "  vars: {ansible_connection: local, smoke_dir: '$WORK'}"
    echo "  children:"
    echo "    nodes:"
    echo "      hosts:"
    for v in $NODES; do
        host "py${v/./}" "$("$COLL_ROOT/tests/node_venv.sh" "$v")" "$v" "$PYROUTE2_PIP" | sed 's/^/    /'
    done
    debian=$(/usr/bin/python3 -c "from importlib.metadata import version; print(version('pyroute2'))")
    host debian /usr/bin/python3 "$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')" "$debian" | sed 's/^/    /'
    if [ "$CONTROLLER" = "$FULL_CONTROLLER" ]; then
        host "py39_pyroute2_floor" "$("$COLL_ROOT/tests/node_venv.sh" 3.9 "pyroute2==$PYROUTE2_MIN")" 3.9 "$PYROUTE2_MIN" | sed 's/^/    /'
        host "py312_pyroute2_floor" "$("$COLL_ROOT/tests/node_venv.sh" 3.12 "pyroute2==$PYROUTE2_MIN_PY312")" 3.12 "$PYROUTE2_MIN_PY312" | sed 's/^/    /'
    fi
    echo "    refused:"
    echo "      hosts:"
    old=$("$COLL_ROOT/tests/node_venv.sh" 3.9 "pyroute2==$PYROUTE2_FLOOR_TOO_OLD")
    echo "        py39_pyroute2_old: {ansible_python_interpreter: '$old', smoke_ns: '${PREFIX}-old',"
    echo "          refused_message: [\"pyroute2 $PYROUTE2_FLOOR_TOO_OLD on Python 3.9.\", \"needs pyroute2 >= $PYROUTE2_MIN there\"]}"
    if [ "$CONTROLLER" = "$FULL_CONTROLLER" ]; then
        # pyroute2 0.5 imports distutils, gone in Python 3.12
        old=$("$COLL_ROOT/tests/node_venv.sh" 3.12 "pyroute2==$PYROUTE2_MIN")
        echo "        py312_pyroute2_0_5: {ansible_python_interpreter: '$old', smoke_ns: '${PREFIX}-old',"
        echo "          refused_message: [\"pyroute2 $PYROUTE2_MIN on Python 3.12.\", \"needs pyroute2 >= $PYROUTE2_MIN_PY312 there\"]}"
    fi
    py38=$("$COLL_ROOT/tests/node_venv.sh" --interpreter 3.8)
    # ansible-core 2.21 and newer refuse Python 3.8 themselves; older ones run the module
    # and the collection refuses it
    if [ "$(printf '%s\n2.21\n' "$CONTROLLER" | sort -V | head -1)" = 2.21 ]; then
        msg="Ansible requires Python 3.9 or newer on the target. Current version: 3.8."
    else
        msg="netfilter.conntrack needs Python >= 3.9 on the managed node; this is Python 3.8."
    fi
    echo "        py38: {ansible_python_interpreter: '$py38', smoke_ns: '${PREFIX}-py38', refused_message: ['$msg']}"
} > "$WORK/inventory.yml"
cat "$WORK/inventory.yml"
# a mistyped inventory would leave a group empty and its play would pass with no host
want=$(grep -c "ansible_python_interpreter" "$WORK/inventory.yml")
have=$(ansible-inventory -i "$WORK/inventory.yml" --list \
       | python -c 'import json, sys; d = json.load(sys.stdin); print(sum(len(d.get(g, {}).get("hosts", [])) for g in ("nodes", "refused")))')
[ "$want" = "$have" ] || { echo "platform_smoke: the inventory has $have of $want hosts"; exit 1; }
ip netns add "${PREFIX}-old"
ANSIBLE_FORKS=${SMOKE_FORKS:-3} ansible-playbook -i "$WORK/inventory.yml" smoke.yml "$@"
