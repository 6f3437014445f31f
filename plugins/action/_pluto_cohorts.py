# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs pluto_cohorts' plan in the controller (no module process a task)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pluto.lms.plugins.modules import pluto_cohorts
from ansible_collections.pluto.lms.plugins.plugin_utils.action import PlutoActionBase


class ActionModule(PlutoActionBase):
    MODULE_ARGS = pluto_cohorts.MODULE_ARGS
    PLAN = staticmethod(pluto_cohorts.plan)
