# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # The attributes every pluto.lms module honours. A module may describe check_mode and diff_mode in its own terms.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Sends no write request, and reports the same C(changed) and diff as a real run would.
    support: full
  diff_mode:
    description: Returns what changed, or would change in check mode, before and after.
    support: full
  action:
    description:
      - The module's action plugin (C(pluto.lms._<module>), routed in the collection's C(meta/runtime.yml)) runs its
        logic in the Ansible controller process, without starting a module process a task.
      - With the environment variable E(PLUTO_LMS_MODULE_PROCESS=1) on the controller, the module runs as a module
        process instead, with the same results.
    support: full
  async:
    description:
      - Not supported. The task always runs to its end in the foreground; C(async) and C(poll) are refused.
    support: none
  connection:
    description:
      - The module does not use the target host's connection. It talks to the site over HTTPS from the controller,
        with the connection options (O(url), O(token), ...).
    support: none
  delegation:
    description:
      - The logic runs on the controller whichever host the task targets, so C(delegate_to) does not change where
        the site is reached from; it only changes whose variables the task uses.
    support: none
  platform:
    description: Any controller that runs ansible-core; the site is any Pluto LMS (Moodle 4.x) site with REST web services.
    support: full
    platforms: all
"""
