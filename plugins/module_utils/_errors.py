# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PlutoError, the one exception a user reads, and one_line for the site's texts.

Private to pluto.lms: not a public API, it may change in any release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re


class PlutoError(Exception):
    """A failure the user should read: one line, never a traceback, never the token.

    errorcode: the site's errorcode when the site answered with an error envelope.
    result: extra keys for the task result (for example what a bulk write applied before it failed).
    """

    def __init__(self, message, errorcode=None, debuginfo=None, wsfunction=None, result=None, transport=False,
                 not_sent=False):
        super(PlutoError, self).__init__(message)
        self.message = message
        self.errorcode = errorcode
        self.debuginfo = debuginfo
        self.wsfunction = wsfunction
        self.result = dict(result or {})
        # True when the request may not have reached the site, or its answer was lost.
        self.transport = transport
        # True when the request certainly never reached the site (safe to send again).
        self.not_sent = not_sent

    def __str__(self):
        return self.message


def one_line(text, limit=300):
    """Collapse whitespace so that a site's text fits in one message line."""
    text = re.sub(r"\s+", " ", str(text)).strip()
    return text if len(text) <= limit else text[:limit - 3] + "..."
