"""Lets plain `pytest tests/unit` run from the repository root; does nothing under ansible-test."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import atexit
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The simulator package (tests.simulator) is imported from the collection root.
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

try:
    import ansible_collections.pluto.lms  # noqa: F401 pylint: disable=unused-import
except ImportError:
    _TREE = tempfile.mkdtemp(prefix="pluto-lms-")
    atexit.register(shutil.rmtree, _TREE, True)
    os.makedirs(os.path.join(_TREE, "ansible_collections", "pluto"))
    os.symlink(ROOT, os.path.join(_TREE, "ansible_collections", "pluto", "lms"))
    sys.path.insert(0, _TREE)
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = _TREE
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    _AnsibleCollectionFinder(paths=[_TREE])._install()  # pylint: disable=protected-access

# Fixtures that start a real simulator over HTTP: simulator, simulator_factory.
from tests.simulator.pytest_fixtures import simulator, simulator_factory  # noqa: E402,F401 pylint: disable=unused-import,wrong-import-position
