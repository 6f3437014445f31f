"""Stand-in for ansible-test's get-pip download, which this network cannot reach.

ansible-test calls it as `python get_pip.py [pip options] pip==X --no-setuptools --no-wheel`;
it bootstraps pip with ensurepip, then installs the requested pip from the package index.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import subprocess
import sys


def main():
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check"] + args)


if __name__ == "__main__":
    main()
