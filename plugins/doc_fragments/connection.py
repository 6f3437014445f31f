# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by every pluto.lms module."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the Pluto LMS (Moodle) site, for example C(https://courses.example.edu).
      - The collection appends C(/webservice/rest/server.php); a URL that already ends with it is used as it is.
      - If not set, the value of the E(PLUTO_URL) environment variable is used.
      - Required. The task, O(url) in C(module_defaults), or E(PLUTO_URL) must give it.
    type: str
  token:
    description:
      - Web-service token of a site user whose service allows the functions this module calls.
      - Sent in the POST body only, never in a URL, and never shown in output.
      - If not set, the value of the E(PLUTO_TOKEN) environment variable is used.
      - Required. The task, O(token) in C(module_defaults), or E(PLUTO_TOKEN) must give it.
    type: str
  validate_certs:
    description:
      - Verify the site's TLS certificate. Set to V(false) only for test sites with self-signed certificates.
      - If not set, the value of the E(PLUTO_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - Path to a PEM file of CA certificates to trust, for sites behind a private certificate authority.
    type: path
  timeout:
    description:
      - Seconds to wait for the site to answer one request.
    type: int
    default: 30
  retries:
    description:
      - How many times a request is tried again after a connection failure, a timeout or an HTTP 502, 503 or 504,
        with exponential backoff.
      - Reads are always retried; writes only where a second delivery cannot apply twice
        (see the collection README).
      - A request is sent at most O(retries) + 1 times, whatever the fault. A create or delete whose answer was lost
        is read back first and sent again only when the site shows it was not applied; those resends count too.
    type: int
    default: 3
  max_input_vars:
    description:
      - The site's PHP C(max_input_vars) setting, for a site that sets it below PHP's default of 5000.
      - Every request, user lookups included, is sized to stay under both this and 2003 form fields
        (the 3 fields every request carries included), so that PHP never drops the end of a request.
      - The default keeps every request at 2003 fields at most; a lower value means more, smaller requests.
      - If not set, the value of the E(PLUTO_MAX_INPUT_VARS) environment variable is used.
    type: int
    default: 5000
  lookup_concurrency:
    description:
      - How many user lookup requests are sent at the same time when a task looks up more users than one request holds.
      - V(1) sends them one after the other. Either way the same requests are sent.
      - Writes are never sent concurrently.
    type: int
    default: 4
notes:
  - The logic of this module runs on the Ansible controller (in the module's action plugin),
    whichever host the task targets; the site is reached from the controller.
requirements:
  - requests
"""

    ACTION_GROUP = r"""
attributes:
  action_group:
    description: Use C(group/pluto.lms.pluto) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - pluto.lms.pluto
"""
