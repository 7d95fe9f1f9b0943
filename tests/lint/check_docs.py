# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection documents itself: no file refers to documents outside it, every relative
link of README.md and docs/*.md resolves, README links every page of docs/ and its Layout
lists every role. Run from the collection root; exit 1 with one line per finding."""

import pathlib
import re
import sys

ROOT = pathlib.Path.cwd()
SKIP_DIRS = {'.git', 'tests/output', 'build', '.venv', 'tests/lint/examples'}
# documents of the team that wrote the collection, which its users do not have
OUTSIDE = re.compile(r'\.\./shared|shared/[A-Z]|\bSPEC\b|\bFACTS\b')
SELF = 'tests/lint/check_docs.py'
LINK = re.compile(r'\]\(([^)#\s]+)(?:#[^)]*)?\)')


def files():
    for path in sorted(ROOT.rglob('*')):
        rel = path.relative_to(ROOT).as_posix()
        if path.is_dir() or any(rel == d or rel.startswith(d + '/') or rel.startswith('.venv')
                                for d in SKIP_DIRS):
            continue
        try:
            yield rel, path.read_text(encoding='utf-8')
        except (UnicodeDecodeError, OSError):
            continue  # binary files


def main():
    found = []
    for rel, text in files():
        if rel == SELF:
            continue
        for num, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                found.append('%s:%d: refers to a document outside the collection: %s'
                             % (rel, num, line.strip()[:120]))
    pages = [ROOT / 'README.md'] + sorted((ROOT / 'docs').glob('*.md'))
    for page in pages:
        for target in LINK.findall(page.read_text(encoding='utf-8')):
            if re.match(r'[a-z]+:', target):
                continue  # a URL
            if not (page.parent / target).exists():
                found.append('%s: link to %s, which does not exist'
                             % (page.relative_to(ROOT), target))
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    for page in sorted((ROOT / 'docs').glob('*.md')):
        if '(docs/%s' % page.name not in readme:
            found.append('README.md: no link to docs/%s' % page.name)
    layout = readme.split('## Layout', 1)[-1].split('\n## ', 1)[0]
    for role in sorted(p.name for p in (ROOT / 'roles').iterdir() if p.is_dir()):
        if not re.search(r'\b%s\b' % re.escape(role), layout):
            found.append('README.md: the Layout section does not list roles/%s' % role)
    for line in found:
        print(line)
    print('check_docs: %d finding(s)' % len(found))
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
