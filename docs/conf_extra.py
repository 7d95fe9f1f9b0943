
# ---------------------------------------------------------------------------------------
# Appended by docs/build.sh to the conf.py that `antsibull-docs sphinx-init` generates.
#
# The generated conf.py resolves references to the Ansible documentation through
# intersphinx inventories downloaded from docs.ansible.com at build time. The build must
# work offline, so docs/build.sh empties intersphinx_mapping and this resolves the few
# labels the generated pages use to their URLs on docs.ansible.com instead.

from docutils import nodes

ANSIBLE_DOCS = 'https://docs.ansible.com/ansible/latest/'
ANSIBLE_LABELS = {
    'common_return_values': 'reference_appendices/common_return_values.html',
    'ansible_configuration_settings': 'reference_appendices/config.html',
    'playbooks_filters': 'playbook_guide/playbooks_filters.html',
    'collections': 'collections_guide/index.html',
    'using_collections': 'collections_guide/index.html',
}
# another collection's plugin page: ansible_collections.NS.NAME.PLUGIN_TYPE
PLUGIN_TYPES = ('module', 'filter', 'test', 'lookup', 'callback', 'connection', 'inventory',
                'become', 'cache', 'cliconf', 'httpapi', 'netconf', 'shell', 'strategy', 'vars',
                'role')

# The yaml+jinja lexer of ansible-pygments gives up on \" inside a double-quoted YAML
# string (valid YAML) and falls back to relaxed highlighting: the page is still right.
suppress_warnings = ['misc.highlighting_failure']


def _ansible_docs_url(target):
    if target in ANSIBLE_LABELS:
        return ANSIBLE_DOCS + ANSIBLE_LABELS[target]
    parts = target.split('.')
    if (len(parts) == 4 and parts[0] == 'ansible_collections'
            and parts[1:3] != ['netfilter', 'conntrack']
            and parts[3].rsplit('_', 1)[-1] in PLUGIN_TYPES):
        return '%scollections/%s/%s/%s.html' % (ANSIBLE_DOCS, parts[1], parts[2], parts[3])
    return None


def _resolve_ansible_ref(app, env, node, contnode):
    if node.get('reftype') != 'ref':
        return None
    url = _ansible_docs_url(node.get('reftarget', ''))
    if url is None:
        return None
    ref = nodes.reference('', '', internal=False, refuri=url)
    ref.append(contnode)
    return ref


def setup(app):
    app.connect('missing-reference', _resolve_ansible_ref)
