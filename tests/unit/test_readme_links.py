# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The README's links work where users read it: on Galaxy's page (no repository around it) and after install."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPOSITORY = "https://github.com/pluto-lms/ansible-collection-pluto-lms/blob/main/"

BENCH_START, BENCH_END = "<!-- bench:start -->", "<!-- bench:end -->"


def read_readme():
    with open(os.path.join(ROOT, "README.md")) as handle:
        return handle.read()


def links(markdown):
    return re.findall(r"\]\(([^)\s]+)\)", markdown)


def readme_parts():
    readme = read_readme()
    start, end = readme.index(BENCH_START), readme.index(BENCH_END)
    return readme[:start] + readme[end:], readme[start:end]


def test_readme_links_work_on_galaxy_and_after_install():
    """Galaxy shows the README without the repository around it: every link is absolute, or an anchor."""
    outside, _bench = readme_parts()
    found = links(outside)
    assert len(found) >= 8
    relative = [link for link in found if not re.match(r"(https?://|#|mailto:)", link)]
    assert relative == []


def test_readme_links_into_the_repository_name_files_that_exist():
    outside, _bench = readme_parts()
    shipped = None
    if os.path.exists(os.path.join(ROOT, "MANIFEST.json")):  # an installed collection: FILES.json lists what shipped
        with open(os.path.join(ROOT, "FILES.json")) as handle:
            shipped = set(entry["name"] for entry in json.load(handle)["files"])
    for link in links(outside):
        if not link.startswith(REPOSITORY):
            continue
        path = link[len(REPOSITORY):].split("#")[0]
        if shipped is None or path in shipped:
            assert os.path.isfile(os.path.join(ROOT, path)), link


def test_readme_benchmark_block_links_work_on_galaxy_and_after_install():
    """benchmarks/run.py writes the block with links into the repository: the tarball leaves benchmarks/ out."""
    _outside, bench = readme_parts()
    assert [link for link in links(bench) if not re.match(r"(https?://|#)", link)] == []
