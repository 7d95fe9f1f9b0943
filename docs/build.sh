#!/usr/bin/env bash
# Build the documentation site of netfilter.conntrack with antsibull-docs and Sphinx.
#
#   ./docs/build.sh          # lint the plugin docs, then build the HTML site into build/docs/
#   ./docs/build.sh lint     # only `antsibull-docs lint-collection-docs --plugin-docs`
#
# Everything it makes stays under build/: a virtualenv (build/docs-venv, from
# docs/requirements.txt: antsibull-docs, Sphinx, the theme, ansible-core), the collection
# laid out for ansible-doc (build/docs-collections, a symlink to the checkout), the Sphinx
# project antsibull-docs sphinx-init generates (build/docs-src) and the site
# (build/docs/html/index.html). Needs PyPI (pip) on the first run only.
#
# Environment: PYTHON=/path/to/python3 (default: python3.11, else python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
VENV="$ROOT/build/docs-venv"
COLLS="$ROOT/build/docs-collections"
SRC="$ROOT/build/docs-src"
OUT="$ROOT/build/docs"
REQS="$ROOT/docs/requirements.txt"
FQCN=netfilter.conntrack

log() { printf '\n=== %s\n' "$*"; }

# ------------------------------------------------------------------ virtualenv
py="${PYTHON:-$(command -v python3.11 || command -v python3)}"
stamp="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [ ! -f "$VENV/.nct-stamp" ] || [ "$(cat "$VENV/.nct-stamp")" != "$stamp" ]; then
    log "pip install -r docs/requirements.txt into $VENV"
    [ -x "$VENV/bin/python" ] || "$py" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQS"
    echo "$stamp" > "$VENV/.nct-stamp"
fi
# antsibull-docs runs ansible-doc and friends from PATH: the venv's ansible-core.
export PATH="$VENV/bin:$PATH"
unset PYTHONPATH ANSIBLE_CONFIG ANSIBLE_COLLECTIONS_PATHS

# ------------------------------------------- the collection, where ansible finds it
mkdir -p "$COLLS/ansible_collections/netfilter"
ln -sfn "$ROOT" "$COLLS/ansible_collections/netfilter/conntrack"
export ANSIBLE_COLLECTIONS_PATH="$COLLS"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false

# ------------------------------------------------------------------------ lint
log "antsibull-docs lint-collection-docs --plugin-docs"
( cd "$COLLS/ansible_collections/netfilter/conntrack" && antsibull-docs lint-collection-docs --plugin-docs . )
echo "docs lint: ok"
[ "${1:-}" = lint ] && exit 0

# ----------------------------------------------------------------------- site
log "antsibull-docs sphinx-init"
rm -rf "$SRC"
mkdir -p "$SRC"
chmod 700 "$SRC"   # antsibull-docs wants a directory only its owner can write to
antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error \
    --dest-dir "$SRC" \
    --project "netfilter.conntrack" \
    --title "netfilter.conntrack" \
    --html-short-title "netfilter.conntrack" \
    --copyright "netfilter.conntrack contributors" \
    "$FQCN"
# Offline: no intersphinx inventories (docs.ansible.com cannot be reached from here; a
# failed fetch is a warning, which the generated build.sh's -W makes an error); the
# references to the Ansible docs are resolved by docs/conf_extra.py instead.
"$VENV/bin/python" - "$SRC/conf.py" <<'PY'
import re
import sys
path = sys.argv[1]
conf = open(path).read()
conf, n = re.subn(r"^intersphinx_mapping = \{.*?^\}\n", "intersphinx_mapping = {}\n", conf, flags=re.S | re.M)
if n != 1:
    sys.exit('docs/build.sh: intersphinx_mapping not found in the generated conf.py')
open(path, 'w').write(conf)
PY
cat "$ROOT/docs/conf_extra.py" >> "$SRC/conf.py"

log "antsibull-docs collection + sphinx-build (the generated build.sh)"
( cd "$SRC" && ./build.sh )
rm -rf "$OUT"
mkdir -p "$OUT"
cp -a "$SRC/build/html" "$OUT/html"
echo "docs: $OUT/html/index.html"
