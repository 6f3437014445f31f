# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sphinx settings of the collection's documentation site (`make docs`, .ci/docs.sh).

Written after the conf.py that `antsibull-docs sphinx-init` generates, without intersphinx: the build must not
need the network, so the few labels of the Ansible documentation that generated pages name are defined in
ansible_references.rst, linking to docs.ansible.com.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

project = "pluto.lms"
copyright = "pluto.lms maintainers"  # pylint: disable=redefined-builtin
title = "pluto.lms: Pluto LMS cohorts as code"
html_short_title = "pluto.lms"

extensions = ["sphinx_antsibull_ext", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
pygments_style = "ansible"
highlight_language = "YAML+Jinja"
html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False
default_role = "any"
nitpicky = True
# docs/simulator.md links to files of the repository (the README, other Markdown pages), which are not pages of
# this site: such a link stays text here instead of failing the build.
suppress_warnings = ["myst.xref_missing"]
