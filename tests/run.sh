#!/usr/bin/env bash
# The test command of netfilter.conntrack.
#
#   sudo ./tests/run.sh                 # all stages (below)
#   sudo ./tests/run.sh units           # one stage (or several: sanity units ...)
#   sudo ./tests/run.sh sanity-oldest   # sanity under the oldest ansible-core of requires_ansible
#   sudo ./tests/run.sh sanity-2.19 sanity-2.22   # sanity under the other controllers
#   sudo ./tests/run.sh units-nodes     # module/module_utils unit tests on node Pythons 3.9-3.13
#   sudo ./tests/run.sh smoke-controllers   # platform_smoke under ansible-core 2.16, 2.19, 2.22
#   sudo ./tests/run.sh lint            # ansible-lint (production), antsibull-changelog, antsibull-docs
#   sudo ./tests/run.sh setup           # only install packages and .venv, copy the collection
#   sudo ./tests/run.sh setup lint      # the same, and the venv of each stage named (.venv-lint)
#   sudo ./tests/run.sh integration -- conntrack_info   # extra args go to ansible-test
#
# What it does, idempotently (a second run skips what is already in place):
#   1. installs the Debian packages the tests use (apt-get, only when one is missing);
#   2. creates .venv in the checkout (Python 3.12, ansible-core 2.21) from requirements-test.txt,
#      and one venv per other controller a stage needs (CONTROLLERS below);
#   3. writes the offline pip bootstrap shim ansible-test looks for in
#      ~/.ansible/test/cache/ (its own download host is unreachable here);
#   4. copies the checkout to build/test/ansible_collections/netfilter/conntrack/ and runs
#      ansible-test sanity, units and integration (locally, no containers) from there;
#   5. sanity-oldest: the same sanity run with the oldest ansible-core that meta/runtime.yml's
#      requires_ansible admits (requirements-test-oldest.txt), from its own .venv-2.16;
#      sanity-2.19 / sanity-2.22: the same with ansible-core 2.19 (Python 3.11) and the
#      2.22 pre-release (Python 3.13);
#      units-nodes: the managed-node unit tests (tests/unit/plugins/module_utils, modules) with
#      pytest on every managed-node Python, 3.9-3.13 (tests/node_venv.sh: pyenv's interpreters);
#      smoke-controllers: the platform_smoke target under ansible-core 2.16, 2.19 and 2.22
#      (the full integration stage runs it, with the whole node matrix, under 2.21);
#   6. lint (from .venv-lint, tests/lint/requirements.txt): ansible-lint --profile production
#      on roles/, demo/ and every plugin's EXAMPLES written out as playbooks;
#      antsibull-changelog lint; tests/lint/check_docs.py (no reference outside the
#      collection, README/docs links resolve); antsibull-docs lint-collection-docs --plugin-docs;
#      galaxy-importer on the tarball ansible-galaxy collection build makes.
# Every stage runs even when an earlier one failed; the last line is "N passed, N failed"
# (sanity tests + unit tests + integration targets) and the exit status is non-zero when
# anything failed. Logs: build/test/logs/<stage>.log.
#
# Environment knobs:
#   PYTHON=/path/to/python3.12   interpreter for .venv (default: python3.12 on PATH, pyenv's)
#   NCT_SKIP_APT=1               never call apt-get
#   NCT_NETNS_MIN_AGE=300        age (s) above which a leftover nct-* namespace is removed
#   NCT_VERBOSE=1                pass -v to ansible-test
#   NCT_SANITY_OLDEST=0          leave sanity-oldest out of the default stages
#   NCT_LINT=0                   leave lint out of the default stages
#   NCT_PLATFORMS=0              leave sanity-2.19, sanity-2.22, units-nodes, smoke-controllers out
#   NCT_WORK=/abs/dir            where the collection copy and logs go (default build/test;
#                                another directory keeps concurrent runs apart)
set -uo pipefail

# ---------------------------------------------------------------------------- setup
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT" || exit 2

COLL_NS=netfilter
COLL_NAME=conntrack
# A tree of its own under build/: build/ansible_collections may be a symlink to the
# checkout made by other tools (tools/, benchmarks/), and this script deletes inside
# its copy.
WORK="${NCT_WORK:-$ROOT/build/test}"
COLL_DIR="$WORK/ansible_collections/$COLL_NS/$COLL_NAME"
LOGDIR="$WORK/logs"
VENV="$ROOT/.venv"
# The development controller: .venv (requirements-test.txt) on this Python.
PY_VERSION=3.12
# The other controllers: "ansible-core minor:venv:Python:requirements file". 2.16 is the
# oldest of requires_ansible (>=2.16.0); 2.22 the next, a pre-release.
CONTROLLERS=(
    "2.16:$ROOT/.venv-2.16:3.11:$ROOT/requirements-test-oldest.txt"
    "2.19:$ROOT/.venv-2.19:3.11:$ROOT/requirements-test-2.19.txt"
    "2.22:$ROOT/.venv-2.22:3.13:$ROOT/requirements-test-2.22.txt"
)
# The managed-node Pythons of units-nodes (and of platform_smoke, which says so itself).
NODE_PYTHONS=(3.9 3.10 3.11 3.12 3.13)
# The linters (ansible-lint, antsibull-changelog, antsibull-docs), for lint.
VENV_LINT="$ROOT/.venv-lint"
REQS_LINT="$ROOT/tests/lint/requirements.txt"
LINT_PY_VERSION=3.11
# Test network namespaces: every integration target names its namespaces "nct" followed
# by "-", "_", "." or a digit (setup_conntrack's rig: nct-cli, nct-rtr ...; a target's own:
# nct_info-cli, nct-flush-1 ...), so that leftovers of crashed runs can be found and
# removed. Other names (including ncte-..., a developer's own) are never touched.
is_test_netns() { [[ $1 =~ ^nct[-_.0-9] ]]; }
APT_PACKAGES=(conntrack nftables iproute2 socat ncat vsftpd lftp procps shellcheck
    python3-pyroute2)  # the system Python's pyroute2: module_respawn

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PYTHONDONTWRITEBYTECODE=1
# Host settings must not leak into the run.
unset ANSIBLE_CONFIG ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS PYTHONPATH VIRTUAL_ENV

STAGES=()
EXTRA=()
while [ $# -gt 0 ]; do
    case "$1" in
        sanity|sanity-oldest|sanity-2.19|sanity-2.22|units|units-nodes|integration|smoke-controllers|lint)
            STAGES+=("$1") ;;
        setup) SETUP_ONLY=1 ;;
        all) STAGES+=(sanity sanity-oldest sanity-2.19 sanity-2.22 units units-nodes integration
                      smoke-controllers lint) ;;
        --) shift; EXTRA=("$@"); break ;;
        -h|--help) sed -n '2,47p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown stage '$1' (sanity, sanity-oldest, sanity-2.19, sanity-2.22, units, units-nodes, integration, smoke-controllers, lint, all)" >&2; exit 2 ;;
    esac
    shift
done
# `run.sh setup` alone prepares .venv only (what the demo needs); `run.sh setup lint`
# also the stages named.
if [ ${#STAGES[@]} -eq 0 ] && [ "${SETUP_ONLY:-0}" != 1 ]; then
    STAGES=(sanity units integration)
    [ "${NCT_SANITY_OLDEST:-1}" = 1 ] && STAGES+=(sanity-oldest)
    [ "${NCT_PLATFORMS:-1}" = 1 ] && STAGES+=(sanity-2.19 sanity-2.22 units-nodes smoke-controllers)
    [ "${NCT_LINT:-1}" = 1 ] && STAGES+=(lint)
fi

log() { printf '\n=== %s\n' "$*"; }
die() { echo "run.sh: $*" >&2; exit 2; }
want_stage() { local s; for s in "${STAGES[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
is_py() {  # is_py PYTHON [X.Y]: that interpreter runs Python X.Y (default $PY_VERSION)
    "$1" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '${2:-$PY_VERSION}'.split('.'))))" 2>/dev/null
}
controller() {  # controller MINOR FIELD: a field of CONTROLLERS (venv, py, reqs)
    local c
    for c in "${CONTROLLERS[@]}"; do
        IFS=: read -r minor venv py reqs <<<"$c"
        [ "$minor" = "$1" ] || continue
        case "$2" in venv) echo "$venv" ;; py) echo "$py" ;; reqs) echo "$reqs" ;; esac
        return 0
    done
    return 1
}

# ------------------------------------------------------------------- interpreter
find_python() {  # find_python [X.Y]: the path of a Python X.Y (default $PY_VERSION)
    local ver="${1:-$PY_VERSION}" c
    # note: sudo resets PATH; pyenv's interpreters are found under its root (a pyenv shim on
    # PATH may point at another version: is_py asks the interpreter)
    for c in "$( [ "$ver" = "$PY_VERSION" ] && echo "${PYTHON:-}")" "python${ver}" "/usr/bin/python${ver}" \
             "${PYENV_ROOT:-${HOME:-/root}/.pyenv}"/versions/"$ver".*/bin/python"$ver" python3; do
        [ -n "$c" ] || continue
        c="$(command -v "$c" 2>/dev/null)" || continue
        if is_py "$c" "$ver"; then echo "$c"; return 0; fi
    done
    die "no Python $ver found (pyenv install $ver, or for .venv set PYTHON=/path/to/python$ver)"
}

# --------------------------------------------------------------- Debian packages
ensure_apt_packages() {
    [ "${NCT_SKIP_APT:-0}" = 1 ] && return 0
    local missing=() p
    local wanted=("${APT_PACKAGES[@]}") py
    # the venv/ensurepip modules of Debian's interpreters come with python3.X-venv
    for py in /usr/bin/python3.*; do
        case "$py" in *-config|*m) continue ;; esac
        [ -x "$py" ] || continue
        "$py" -c 'import ensurepip, venv' >/dev/null 2>&1 || wanted+=("$(basename "$py")-venv")
    done
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing Debian packages (${missing[*]}): run as root (sudo ./tests/run.sh)"
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || echo "run.sh: apt-get update failed (continuing)" >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        || die "apt-get install ${missing[*]} failed"
}

# ------------------------------------------------------------------ virtualenv
# make_venv DIR X.Y REQUIREMENTS_FILE... [-- EXTRA_PACKAGE...]: a Python X.Y venv at DIR
# with those requirements, reinstalled only when they (or the extras) change.
make_venv() {
    local dir="$1" ver="$2" pybin
    shift 2
    local reqs=() extra=() f
    while [ $# -gt 0 ] && [ "$1" != -- ]; do reqs+=("$1"); shift; done
    [ "${1:-}" = -- ] && { shift; extra=("$@"); }
    local stamp
    stamp="$( { cat "${reqs[@]}"; echo "${extra[*]}"; echo "$ver"; } | sha256sum | cut -d' ' -f1)"

    if [ -e "$dir" ] && ! is_py "$dir/bin/python" "$ver"; then
        echo "run.sh: $dir is broken or not Python $ver: recreating"
        rm -rf "$dir"
    fi
    if [ -f "$dir/.nct-stamp" ] && [ "$(cat "$dir/.nct-stamp")" = "$stamp" ] && [ -x "$dir/bin/ansible-test" ]; then
        return 0
    fi
    if [ ! -x "$dir/bin/python" ]; then
        pybin="$(find_python "$ver")" || exit 2
        log "creating $dir with $pybin"
        "$pybin" -m venv "$dir" || die "python -m venv failed"
    fi
    log "pip install into $dir"
    local args=()
    for f in "${reqs[@]}"; do args+=(-r "$f"); done
    "$dir/bin/python" -m pip install -q "${args[@]}" "${extra[@]}" || die "pip install into $dir failed"
    echo "$stamp" > "$dir/.nct-stamp"
}

ensure_venv() {
    local reqs=(requirements-test.txt) f
    for f in tests/unit/requirements.txt tests/integration/requirements.txt; do
        [ -f "$f" ] && reqs+=("$f")
    done
    # What ansible-test's local "units" run expects besides pytest
    # (ansible_test/_data/requirements/units.txt).
    make_venv "$VENV" "$PY_VERSION" "${reqs[@]}" -- pytest-xdist pytest-mock mock
}

# Another controller (sanity-oldest/-2.19/-2.22, smoke-controllers): its ansible-core only
# (pyroute2 and jmespath are there for ansible-doc and manual runs), and its pip shim.
ensure_venv_controller() {  # ensure_venv_controller MINOR
    make_venv "$(controller "$1" venv)" "$(controller "$1" py)" "$(controller "$1" reqs)"
    ensure_get_pip_shim "$(controller "$1" venv)"
    pin_offline_sanity_requirements "$(controller "$1" venv)"
}

# ansible-core 2.22.0rc1's pylint sanity requirements take dill from a GitHub archive
# (dill @ https://github.com/uqfoundation/dill/archive/<commit>.zip), which this machine
# cannot reach: pylint's environment then fails to install. Point that one line at the
# release on PyPI (dill 0.4.0, which pylint 4 accepts); every other pin stays ansible-test's.
pin_offline_sanity_requirements() {  # pin_offline_sanity_requirements VENV
    local f
    for f in "$1"/lib/python*/site-packages/ansible_test/_data/requirements/sanity.*.txt; do
        [ -f "$f" ] || continue
        if grep -q '^dill @ https://github.com/' "$f"; then
            sed -i 's|^dill @ https://github.com/.*$|dill==0.4.0  # netfilter.conntrack: PyPI instead of a GitHub archive (offline)|' "$f"
            echo "run.sh: $f: dill from PyPI (0.4.0) instead of a GitHub archive"
        fi
    done
}

ensure_venv_lint() {
    make_venv "$VENV_LINT" "$LINT_PY_VERSION" "$REQS_LINT"
}

# --------------------------------------------------- offline pip bootstrap shim
# ansible-test bootstraps pip in every virtual environment it creates (the sanity
# tests' environments, --venv) with a get-pip.py downloaded from
# ci-files.testing.ansible.com, unreachable here. It first looks for
# ~/.ansible/test/cache/get_pip_<version>.py (ansible-core 2.21.5 and 2.22.0rc1: get_pip_25_2.py;
# 2.19.14: get_pip_24_2.py; 2.16.19: get_pip_23_1_2.py) and
# runs it through its quiet_pip.py wrapper, sys.argv[1:] = pip install options + packages.
# The shim bootstraps with the stdlib's ensurepip, then lets pip install what was asked.
ensure_get_pip_shim() {  # ensure_get_pip_shim [VENV]: for that venv's ansible-test
    local ver
    ver="$("${1:-$VENV}/bin/python" - <<'EOF'
import re, pathlib, ansible_test
src = pathlib.Path(ansible_test.__file__).parent / '_internal' / 'python_requirements.py'
m = re.search(r"default_packages = dict\(\s*pip='([0-9.]+)'", src.read_text())
print(m.group(1) if m else '')
EOF
)"
    [ -n "$ver" ] || { echo "run.sh: could not find ansible-test's pip version; shim not written" >&2; return 0; }
    # ansible-test expands ~ with $HOME, as this does
    local shim="${HOME:-/root}/.ansible/test/cache/get_pip_${ver//./_}.py"
    local marker='# netfilter.conntrack offline get-pip shim v1'
    if [ -f "$shim" ] && grep -qF "$marker" "$shim"; then
        return 0
    fi
    mkdir -p "$(dirname "$shim")"
    cat > "$shim.tmp" <<EOF
$marker
"""Stand-in for get-pip.py: bootstrap pip with ensurepip, then install what was asked."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'])
if [a for a in args if not a.startswith('-')]:
    rc = subprocess.call([sys.executable, '-m', 'pip', 'install'] + args)
    if rc:
        # the bundled pip works too; a failed upgrade (no index) is not fatal
        sys.stderr.write('get-pip shim: pip install %s failed (%d); keeping the ensurepip pip\n' % (' '.join(args), rc))
EOF
    mv "$shim.tmp" "$shim"
    echo "run.sh: wrote offline pip bootstrap shim $shim"
}

# ------------------------------------------------------------ collection layout
# ansible-test wants the collection at ansible_collections/<ns>/<name>/. Copy (not link)
# the checkout there: tracked files plus untracked-but-not-ignored ones (work in
# progress); tests/output (ansible-test's results) is kept between runs.
sync_collection() {
    mkdir -p "$COLL_DIR" || die "cannot create $COLL_DIR"
    # Safety: never delete through a symlink into the checkout.
    [ "$(cd "$COLL_DIR" && pwd -P)" = "$COLL_DIR" ] || die "$COLL_DIR is (under) a symlink: remove it"
    find "$COLL_DIR" -mindepth 1 -maxdepth 1 ! -name tests ! -name .git -exec rm -rf {} +
    if [ -d "$COLL_DIR/tests" ] && [ ! -L "$COLL_DIR/tests" ]; then
        find "$COLL_DIR/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} +
    fi
    if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "$ROOT" ls-files -z --cached --others --exclude-standard \
            | while IFS= read -r -d '' f; do
                  if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
              done \
            | tar -C "$ROOT" --null -T - -cf - \
            | tar -C "$COLL_DIR" -xf -
    else
        tar -C "$ROOT" --exclude=./.venv --exclude=./build --exclude=./.git \
            --exclude=./tests/output --exclude='__pycache__' --exclude='*.pyc' -cf - . \
            | tar -C "$COLL_DIR" -xf -
    fi
    # ansible-test lists a collection's files with git when it finds a .git at or above the
    # collection root; above this copy is the checkout, whose .gitignore hides build/, so
    # it would see no files at all ("All targets skipped"). A repository of its own (no
    # commits needed: untracked files are listed too) makes it list the copy.
    if [ ! -d "$COLL_DIR/.git" ]; then
        git init -q "$COLL_DIR" || die "git init $COLL_DIR failed"
    fi
}

# --------------------------------------------------------- namespace leftovers
# Remove the test network namespaces (is_test_netns) left by crashed runs, and the
# processes still inside them (socat, vsftpd ...). Namespaces younger than
# NCT_NETNS_MIN_AGE seconds are left alone: they may belong to a run in progress.
cleanup_netns() {
    command -v ip >/dev/null || return 0
    local min_age="${NCT_NETNS_MIN_AGE:-300}" now ns created pids
    now="$(date +%s)"
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        is_test_netns "$ns" || continue
        created="$(stat -c %Y "/run/netns/$ns" 2>/dev/null || echo 0)"
        [ $((now - created)) -ge "$min_age" ] || continue
        pids="$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
        # shellcheck disable=SC2086
        [ -n "${pids// /}" ] && kill $pids 2>/dev/null
        ip netns delete "$ns" 2>/dev/null && echo "run.sh: removed leftover network namespace $ns"
    done
}

warn_netns_leftovers() {
    # A namespace of ours still there after the run means a target without teardown
    # (or a concurrent run); the next run removes it once it is old enough.
    local ns
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        is_test_netns "$ns" && echo "run.sh: warning: network namespace $ns still exists after the integration run (a target without teardown, or a concurrent run)"
    done
}

# ---------------------------------------------------------------------- stages
PASSED=0
FAILED=0
STAGE_FAILED=()
TIMES=()

at() {  # run ansible-test from the collection root; output to the console and a log
    # (the ansible-test of $AT_VENV, default .venv)
    local logfile="$1"; shift
    local vflag=()
    [ "${NCT_VERBOSE:-0}" = 1 ] && vflag=(-v)
    ( cd "$COLL_DIR" && "${AT_VENV:-$VENV}/bin/ansible-test" "$@" "${vflag[@]}" --color no "${EXTRA[@]}" ) 2>&1 | tee "$logfile"
    return "${PIPESTATUS[0]}"
}

count() {  # add a stage's counts to the totals: count STAGE PASSED FAILED RC [unit]
    local p="$2" f="$3" rc="$4"
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # a failure we could not count
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
    echo "$1: $p ${5:-}passed, $f failed (ansible-test exit status $rc)"
}

# "FATAL: The N <kind> test(s) listed below (out of M) failed." -> "N M"
failed_of() { sed -n "s/^[A-Z]*: The \([0-9]\+\) $1 test(s) listed below (out of \([0-9]\+\)) failed.*/\1 \2/p" "$2" | tail -1; }

stage_sanity() {  # stage_sanity [NAME VENV X.Y]: sanity with that venv's ansible-core on Python X.Y
    local name="${1:-sanity}" py="${3:-$PY_VERSION}"
    local logf="$LOGDIR/$name.log" rc ran failed nm
    # Local (no --venv): each sanity test still gets its own cached virtualenv under
    # ~/.ansible/test/venv/, bootstrapped through the shim above. No ignore file: a
    # finding is fixed, not ignored.
    AT_VENV="${2:-$VENV}" at "$logf" sanity --python "$py"
    rc=$?
    ran="$(grep -c '^Running sanity test "' "$logf")"
    failed=0
    nm="$(failed_of sanity "$logf")"
    if [ -n "$nm" ]; then failed="${nm% *}"; ran="${nm#* }"; fi
    count "$name" "$((ran - failed))" "$failed" "$rc" "tests "
    return "$rc"
}

stage_units() {
    local logf="$LOGDIR/units.log" rc counts p f
    if [ -z "$(find "$COLL_DIR/tests/unit" -name 'test_*.py' 2>/dev/null | head -1)" ]; then
        echo "units: no tests/unit/**/test_*.py: nothing to run"
        return 0
    fi
    rm -f "$COLL_DIR"/tests/output/junit/python*-units.xml
    at "$logf" units --python "$PY_VERSION"
    rc=$?
    # pytest's counts, from the junit file ansible-test has pytest write (pytest's own
    # summary line is in the output above).
    read -r p f <<<"$(junit_counts "$COLL_DIR"/tests/output/junit/python*-units.xml)"
    count units "$p" "$f" "$rc" "tests "
    return "$rc"
}

junit_counts() {  # junit_counts FILE...: "PASSED FAILED" of pytest junit files
    local counts
    counts="$("$VENV/bin/python" - "$@" <<'EOF'
import sys
import xml.etree.ElementTree as ET
p = f = 0
for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except Exception:
        continue
    for s in ([root] if root.tag == 'testsuite' else root.iter('testsuite')):
        t, fl, e, sk = (int(s.get(k, 0)) for k in ('tests', 'failures', 'errors', 'skipped'))
        p += t - fl - e - sk
        f += fl + e
print(p, f)
EOF
)"
    echo "${counts:-0 0}"
}

# The managed-node code (modules, module_utils) on every managed-node Python: pytest in a
# small venv per Python (tests/node_venv.sh), with the collection copy and .venv's
# ansible-core on the path (its module_utils support these Pythons as targets; its
# controller code does not, so the controller-side tests stay in units).
stage_units_nodes() {
    local logf="$LOGDIR/units-nodes.log" rc=0 r ver py p f tp=0 tf=0 dirs=() d
    local path="$WORK/node-path"
    # the hypothesis fuzz run (~1,500 cases over pure logic) runs once, in units
    local skip=(--ignore=tests/unit/plugins/module_utils/test_fuzz_decoder_filter.py)
    for d in tests/unit/plugins/module_utils tests/unit/plugins/modules; do
        [ -d "$COLL_DIR/$d" ] && dirs+=("$d")
    done
    [ ${#dirs[@]} -gt 0 ] || { echo "units-nodes: no managed-node unit tests"; count units-nodes 0 1 1; return 1; }
    mkdir -p "$path" && ln -sfn "$("$VENV/bin/python" -c 'import ansible, os; print(os.path.dirname(ansible.__file__))')" "$path/ansible"
    : > "$logf"
    for ver in "${NODE_PYTHONS[@]}"; do
        printf '\n--- units on Python %s\n' "$ver" | tee -a "$logf"
        r=0
        py="$("$ROOT/tests/node_venv.sh" "$ver" 2>>"$logf")" || r=$?
        rm -f "$LOGDIR/units-py$ver.xml"
        if [ "$r" -eq 0 ]; then
            ( cd "$COLL_DIR" && PYTHONPATH="$WORK:$path" "$py" -m pytest -q -p no:cacheprovider \
                --junitxml="$LOGDIR/units-py$ver.xml" "${skip[@]}" "${dirs[@]}" ) 2>&1 | tail -3 | tee -a "$logf"
            r="${PIPESTATUS[0]}"
        fi
        read -r p f <<<"$(junit_counts "$LOGDIR/units-py$ver.xml")"
        [ "$r" -ne 0 ] && [ "$f" -eq 0 ] && f=1
        echo "units-nodes: Python $ver: $p passed, $f failed" | tee -a "$logf"
        tp=$((tp + p)); tf=$((tf + f))
        [ "$r" -ne 0 ] && rc=1
    done
    count units-nodes "$tp" "$tf" "$rc" "tests "
    return "$rc"
}

# The platform_smoke target under the other controllers (each its own venv and Python):
# the ends of the node matrix there (the target picks them), one target per controller.
stage_smoke_controllers() {
    local minor rc=0 r p=0 f=0
    if [ "$(id -u)" -ne 0 ]; then
        echo "smoke-controllers: needs root (sudo ./tests/run.sh)"
        count smoke-controllers 0 1 1
        return 1
    fi
    for minor in "${CONTROLLERS[@]%%:*}"; do
        log "platform_smoke under ansible-core $minor"
        AT_VENV="$(controller "$minor" venv)" at "$LOGDIR/smoke-$minor.log" integration --allow-root \
            --allow-destructive --python "$(controller "$minor" py)" platform_smoke
        r=$?
        if [ "$r" -eq 0 ]; then p=$((p + 1)); else f=$((f + 1)); rc=1; fi
    done
    count smoke-controllers "$p" "$f" "$rc" "targets "
    return "$rc"
}

stage_integration() {
    local logf="$LOGDIR/integration.log" rc ran failed nm
    if [ "$(id -u)" -ne 0 ]; then
        echo "integration: needs root (sudo ./tests/run.sh)"
        count integration 0 1 1
        return 1
    fi
    if [ -z "$(find "$COLL_DIR/tests/integration/targets" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -1)" ]; then
        echo "integration: no targets under tests/integration/targets: nothing to run"
        return 0
    fi
    cleanup_netns
    # eda_conntrack_events runs the real ansible-rulebook, from a venv of its own, found
    # beside the collections root (ansible-test passes no environment of ours through)
    make_venv "$ROOT/.venv-rulebook" "$PY_VERSION" "$ROOT/tests/integration/targets/eda_conntrack_events/requirements-rulebook.txt"
    ln -sfn "$ROOT/.venv-rulebook" "$WORK/venv-rulebook"
    # all targets but disabled/unsupported/unstable ones; hidden (setup_*) ones run as
    # dependencies only. --continue-on-error: one failing target does not stop the rest.
    at "$logf" integration --allow-root --allow-destructive --continue-on-error --python "$PY_VERSION"
    rc=$?
    ran="$(grep -c '^Running .* integration test \(role\|script\)$' "$logf")"
    failed=0
    nm="$(failed_of integration "$logf")"
    if [ -n "$nm" ]; then failed="${nm% *}"; ran="${nm#* }"; fi
    count integration "$((ran - failed))" "$failed" "$rc" "targets "
    warn_netns_leftovers
    return "$rc"
}

# shellcheck disable=SC2317  # called through lint_step "$@"
galaxy_import() {  # galaxy_import DIR: build the tarball into DIR, run galaxy-importer on it
    rm -rf "$1" && mkdir -p "$1" || return 1
    ansible-galaxy collection build --output-path "$1" . >/dev/null || return 1
    printf '[galaxy-importer]\nRUN_ANSIBLE_TEST = False\nRUN_ANSIBLE_LINT = True\n' > "$1/galaxy-importer.cfg"
    # (it writes importer_result.json into the working directory)
    ( cd "$1" && GALAXY_IMPORTER_CONFIG=galaxy-importer.cfg python -m galaxy_importer.main netfilter-conntrack-*.tar.gz )
}

# lint: each linter is one test. They run in the collection copy, with the copy's
# collections path, so that ansible-lint resolves netfilter.conntrack.* there.
stage_lint() {
    # the examples go inside the copy: ansible-lint ignores files outside its project
    local logf="$LOGDIR/lint.log" p=0 f=0 failed=() examples=tests/lint/examples
    : > "$logf"
    lint_step() {  # lint_step NAME COMMAND...: run in the copy, log, count
        local name="$1"; shift
        printf '\n--- %s\n' "$name" | tee -a "$logf"
        if ( cd "$COLL_DIR" && PATH="$VENV_LINT/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$WORK" \
                ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false "$@" ) 2>&1 | tee -a "$logf"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
            p=$((p + 1))
        else
            f=$((f + 1)); failed+=("$name")
        fi
    }
    lint_step "antsibull-changelog lint" antsibull-changelog lint
    lint_step "the collection documents itself (tests/lint/check_docs.py)" \
        "$VENV_LINT/bin/python" tests/lint/check_docs.py
    lint_step "antsibull-docs lint-collection-docs --plugin-docs" \
        antsibull-docs lint-collection-docs --plugin-docs .
    # Galaxy's own import checks on the built tarball (its ansible-test run is off: no
    # containers here; sanity is the stages above). Before the examples are written into
    # the copy: they are not part of the collection.
    lint_step "galaxy-importer on the built tarball" galaxy_import "$WORK/dist"
    rm -rf "${COLL_DIR:?}/$examples"
    lint_step "EXAMPLES as playbooks" "$VENV_LINT/bin/python" tests/lint/examples_to_playbooks.py "$examples"
    lint_step "ansible-lint --profile production roles/ demo/ playbooks/ EXAMPLES" \
        ansible-lint --offline --nocolor --profile production roles/ demo/ playbooks/ "$examples"
    [ ${#failed[@]} -gt 0 ] && echo "lint: failed: ${failed[*]}"
    count lint "$p" "$f" "$([ "$f" -eq 0 ] && echo 0 || echo 1)" "checks "
    [ "$f" -eq 0 ]
}

# ------------------------------------------------------------------------ main
T0=$(date +%s)
PYBIN="$(find_python)" || exit 2
ensure_apt_packages
ensure_venv
ensure_get_pip_shim
want_stage sanity-oldest && ensure_venv_controller 2.16
want_stage sanity-2.19 && ensure_venv_controller 2.19
want_stage sanity-2.22 && ensure_venv_controller 2.22
if want_stage smoke-controllers; then
    for _minor in "${CONTROLLERS[@]%%:*}"; do ensure_venv_controller "$_minor"; done
fi
want_stage lint && ensure_venv_lint
sync_collection
mkdir -p "$LOGDIR"
printf 'run.sh: setup %ss (python %s; collection copied to %s)\n' "$(( $(date +%s) - T0 ))" "$PYBIN" "$COLL_DIR"
# `run.sh setup`: packages, .venv and the collection copy only (the demo uses this).
[ "${SETUP_ONLY:-0}" = 1 ] && exit 0

RC=0
for stage in sanity sanity-oldest sanity-2.19 sanity-2.22 units units-nodes integration smoke-controllers lint; do
    want_stage "$stage" || continue
    log "ansible-test $stage"
    t=$(date +%s)
    rc=0
    case "$stage" in
        sanity) stage_sanity || rc=$? ;;
        sanity-oldest) stage_sanity sanity-oldest "$(controller 2.16 venv)" "$(controller 2.16 py)" || rc=$? ;;
        sanity-2.19|sanity-2.22)
            stage_sanity "$stage" "$(controller "${stage#sanity-}" venv)" "$(controller "${stage#sanity-}" py)" || rc=$? ;;
        units) stage_units || rc=$? ;;
        units-nodes) stage_units_nodes || rc=$? ;;
        integration) stage_integration || rc=$? ;;
        smoke-controllers) stage_smoke_controllers || rc=$? ;;
        lint) stage_lint || rc=$? ;;
    esac
    if [ "$rc" -ne 0 ]; then
        RC=1
        STAGE_FAILED+=("$stage")
    fi
    TIMES+=("$stage: $(( $(date +%s) - t ))s")
done

# What failed, in the last lines of the output (a CI page may show only those): each
# failed test's name and, for integration, every failed task with its message.
failure_digest() {
    local stage logf
    for stage in "${STAGE_FAILED[@]}"; do
        logf="$LOGDIR/$stage.log"
        [ -f "$logf" ] || continue
        echo "--- $stage: what failed"
        sed -n '/^[A-Z]*: The [0-9]* .* test(s) listed below/,/^$/p' "$logf" | head -20
        if [ "$stage" = integration ]; then
            # a failed task's lines up to the next blank line, unless Ansible ignored it
            awk '/^Running .* integration test/ { target = $2 }
                 /^(fatal|failed): \[/ { buf = "[" target "] " $0; grab = 1; next }
                 grab && /^\.\.\.ignoring/ { grab = 0; buf = ""; next }
                 grab && /^$/ { print buf; grab = 0; buf = ""; next }
                 grab { buf = buf "\n" $0 }' "$logf" | cut -c1-400 | tail -60
        fi
    done
}

log "summary"
[ ${#STAGE_FAILED[@]} -gt 0 ] && failure_digest
printf '%s\n' "${TIMES[@]}"
[ ${#STAGE_FAILED[@]} -gt 0 ] && echo "failed stages: ${STAGE_FAILED[*]} (logs in $LOGDIR)"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -gt 0 ] && RC=1
exit "$RC"
