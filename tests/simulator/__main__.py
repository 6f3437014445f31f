"""Entry point: ``python3 COLLECTION/tests/simulator [switches]`` or ``python -m tests.simulator [switches]``.

Run by its path (``python3 ~/.ansible/collections/ansible_collections/pluto/lms/tests/simulator``),
from any directory: it finds the collection it belongs to and imports itself from there.
"""

from __future__ import annotations

import os
import sys

if __package__:
    from .server import main
else:
    # Run as a path: Python put this directory first on sys.path; import the package from its collection root.
    HERE = os.path.dirname(os.path.abspath(__file__))
    COLLECTION_ROOT = os.path.dirname(os.path.dirname(HERE))
    sys.path[:] = [COLLECTION_ROOT] + [entry for entry in sys.path if os.path.abspath(entry or '.') != HERE]
    from tests.simulator.server import main  # pylint: disable=import-error

if __name__ == '__main__':
    sys.exit(main())
