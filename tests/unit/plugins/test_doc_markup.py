# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ansible-doc markup: C(...), I(...), B(...) end at the first ")", so a parenthesis inside
them renders half the text as markup and the rest as stray prose. Every plugin's
documentation (and the roles' argument specs) is checked here."""

from __future__ import annotations

import ast
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
DOC_VARS = ('DOCUMENTATION', 'RETURN')
# no escapes in these: the first ")" ends them
_PLAIN = re.compile(r'(?<![A-Za-z0-9_])([CIBMU])\(([^)]*)\)')
# these take backslash escapes (antsibull-docs-parser): "\)" stays inside
_ESCAPED = re.compile(r'(?<![A-Za-z0-9_])(V|O|RV|E)\(((?:\\.|[^\\)])*)\)')


def bad_markup(text):
    """The markup items of ``text`` whose content holds an unbalanced parenthesis."""
    out = []
    for pattern in (_PLAIN, _ESCAPED):
        for m in pattern.finditer(text):
            body = re.sub(r'\\.', '', m.group(2))
            if body.count('(') != body.count(')'):
                out.append(m.group(0))
    return out


def _strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _docs():
    """(name, parsed YAML) of every DOCUMENTATION/RETURN in plugins/ and every role spec."""
    for path in sorted((ROOT / 'plugins').glob('*/*.py')):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str)
                    and any(getattr(t, 'id', None) in DOC_VARS for t in node.targets)):
                yield '%s %s' % (path.relative_to(ROOT), node.targets[0].id), \
                    yaml.safe_load(node.value.value)
    for path in sorted((ROOT / 'roles').glob('*/meta/argument_specs.yml')):
        yield str(path.relative_to(ROOT)), yaml.safe_load(path.read_text())


DOCS = list(_docs())


def test_docs_were_found():
    names = ' '.join(name for name, _doc in DOCS)
    for plugin in ('modules/conntrack_info.py', 'filter/conntrack_count_by.py',
                   'doc_fragments/filters.py', 'conntrack_failover/meta/argument_specs.yml'):
        assert plugin in names


@pytest.mark.parametrize('text, bad', [
    ("C(awk '{for(i in sum) print i}')", ["C(awk '{for(i in sum)"]),
    ('I(a (b)', ['I(a (b)']),
    ('C(conntrack -L) and V(x\\)y) and O(a=b)', []),
    ('V(a(b)', ['V(a(b)']),
])
def test_the_check_finds_what_ansible_doc_would_cut(text, bad):
    assert bad_markup(text) == bad


@pytest.mark.parametrize('name, doc', DOCS, ids=[name for name, _doc in DOCS])
def test_no_markup_is_cut_short(name, doc):
    found = [item for text in _strings(doc) for item in bad_markup(text)]
    assert not found, '%s: markup cut at its first ")": %s' % (name, found)
