"""The benchmarks' own tests (not shipped: galaxy.yml leaves benchmarks/ out of the tarball); `benchmarks` is
imported from the repository root."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
