# -*- coding: utf-8 -*-
# Copyright (c) netfilter.conntrack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write the EXAMPLES of every plugin of the collection as playbooks, for ansible-lint.

    python examples_to_playbooks.py OUTPUT_DIR

Run with the Python of an ansible-core whose ANSIBLE_COLLECTIONS_PATH finds
netfilter.conntrack (tests/run.sh lint does). Each plugin's examples, as ansible-doc shows
them, become OUTPUT_DIR/<type>_<name>.yml: a play on localhost whose tasks are the examples
(an example that already is a play is kept as it is). Exits non-zero when a plugin has no
examples or examples that are not YAML.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

COLLECTION = 'netfilter.conntrack'
PLUGIN_TYPES = ('module', 'filter')


def ansible_doc(*args):
    out = subprocess.run([sys.executable, '-m', 'ansible.cli.doc'] + list(args),
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def plugins(plugin_type):
    listing = ansible_doc('-t', plugin_type, '--list', '--json', COLLECTION)
    return sorted(name for name in listing if name.startswith(COLLECTION + '.'))


def playbook(fqcn, plugin_type, examples):
    data = yaml.safe_load(examples)
    if not isinstance(data, list) or not data:
        raise ValueError('EXAMPLES is not a list of tasks')
    if all(isinstance(item, dict) and ('hosts' in item or 'import_playbook' in item) for item in data):
        return '---\n' + examples.lstrip('\n')
    tasks = '\n'.join(('    ' + line) if line.strip() else '' for line in examples.strip('\n').splitlines())
    return ('---\n'
            '# The EXAMPLES of %s %s, as a playbook.\n'
            '- name: Examples of %s\n'
            '  hosts: localhost\n'
            '  gather_facts: false\n'
            '  tasks:\n'
            '%s\n') % (fqcn, plugin_type, fqcn, tasks)


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    errors = []
    written = 0
    for plugin_type in PLUGIN_TYPES:
        for fqcn in plugins(plugin_type):
            doc = ansible_doc('-t', plugin_type, '--json', fqcn)[fqcn]
            examples = doc.get('examples') or ''
            if not examples.strip():
                errors.append('%s %s: no EXAMPLES' % (plugin_type, fqcn))
                continue
            try:
                text = playbook(fqcn, plugin_type, examples)
            except (ValueError, yaml.YAMLError) as exc:
                errors.append('%s %s: %s' % (plugin_type, fqcn, exc))
                continue
            path = os.path.join(out_dir, '%s_%s.yml' % (plugin_type, fqcn.rsplit('.', 1)[1]))
            with open(path, 'w', encoding='utf-8') as f:
                f.write(text)
            written += 1
    for error in errors:
        print('examples: %s' % error, file=sys.stderr)
    print('examples: %d playbooks in %s' % (written, out_dir))
    return 1 if errors or not written else 0


if __name__ == '__main__':
    sys.exit(main())
