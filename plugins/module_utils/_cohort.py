# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pluto_cohort as a plan: one cohort present (created, updated, moved, renamed) or absent.

Three steps, each usable on its own:
- CohortTask(params): the wanted cohort, normalised, with the checks of its own values;
- CohortSite: a read view of the site (every cohort, contexts, categories, members), built by
  read_cohort_site() for one task, or by a caller that reads the site once for many cohorts;
- plan_cohort(task, site) -> CohortPlan: pure (no request), the per-cohort plan;
- CohortPlan.follow_up(outcome, reader): after the plan's writes, the read-back that reports only
  what the site stored and makes concurrent creates of one idnumber converge.

Identity is the exact idnumber (or the id). MySQL/MariaDB sites compare idnumbers ignoring case,
accents and trailing spaces (see _collation.py); the collection does not know the site's
database, so a create or a rename to an idnumber such a site takes as another cohort's is refused
on every site, before any write.

Private to pluto.lms: not a public API, it may change in any release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import random
import time

from ansible_collections.pluto.lms.plugins.module_utils._client import DESCRIPTION_FORMATS
from ansible_collections.pluto.lms.plugins.module_utils._collation import loose_key
from ansible_collections.pluto.lms.plugins.module_utils._errors import PlutoError
from ansible_collections.pluto.lms.plugins.module_utils._model import (
    SYSTEM,
    Categories,
    ContextLocator,
    category_context,
    cohort_view,
    context_from_category,
    describe_context,
    duplicates_text,
    field_text,
    stored_custom_fields,
    system_context,
)
from ansible_collections.pluto.lms.plugins.module_utils._plan import Hooks, Plan, Recovery
from ansible_collections.pluto.lms.plugins.module_utils._readable_diff import text_diff
from ansible_collections.pluto.lms.plugins.module_utils._reader import GET_COHORT_MEMBERS, SEARCH_COHORTS

CREATE_COHORTS = "core_cohort_create_cohorts"
UPDATE_COHORTS = "core_cohort_update_cohorts"
DELETE_COHORTS = "core_cohort_delete_cohorts"
GET_CATEGORIES = "core_course_get_categories"

# The database columns' limits; a longer value makes the site fail with a bare dmlwriteexception.
NAME_MAX_LENGTH = 254
IDNUMBER_MAX_LENGTH = 100

THEMES_SETTING = "Site administration > Appearance > Advanced theme settings > Allow cohort themes"
COLLATION_RULE = ("MySQL/MariaDB sites take both as the same idnumber (they compare idnumbers ignoring case, accents "
                  "and trailing spaces)")
CONTEXT_KEYS = ("context", "category_id", "category_idnumber")


def blank(value):
    return value is not None and not value.strip()


def cohort_label(raw):
    return "%r (id %d)" % (raw.get("idnumber"), int(raw["id"]))


# ---- the wanted cohort ---------------------------------------------------------------------------

class CohortTask(object):
    """The task's wanted values, normalised. Only what the task gives is managed."""

    def __init__(self, params):
        self.state = params.get("state") or "present"
        self.cohort_id = params.get("id")
        self.idnumber = params.get("idnumber")
        self.name = params.get("name")
        self.description = params.get("description")
        self.description_format = params.get("description_format")
        self.visible = params.get("visible")
        self.theme = params.get("theme")
        custom = params.get("custom_fields")
        self.custom_fields = None if custom is None else dict((str(k), field_text(v)) for k, v in custom.items())
        self.category_id = params.get("category_id")
        self.category_idnumber = params.get("category_idnumber")

    @property
    def label(self):
        """How messages name the cohort."""
        if self.cohort_id is None:
            return repr(self.idnumber)
        return "id %d" % self.cohort_id

    @property
    def owner(self):
        """The owner of this cohort's operations in a plan (unique per cohort among merged plans)."""
        return ("cohort", self.cohort_id if self.cohort_id is not None else self.idnumber)

    def blank_references(self):
        """References that rendered blank (an empty variable): never sent, never matched on the site."""
        errors = []
        if blank(self.idnumber):
            errors.append("idnumber is blank")
        if blank(self.category_idnumber):
            errors.append("category_idnumber is blank (give a category's idnumber, or category_id: 0 for the system "
                          "context)")
        return errors

    def local_errors(self):
        """What is wrong with the task's own values, before asking the site anything."""
        errors = self.blank_references()
        if self.state == "absent":
            return errors
        if self.idnumber is not None and len(self.idnumber) > IDNUMBER_MAX_LENGTH:
            errors.append("idnumber is %d characters long, the site allows %d" % (len(self.idnumber), IDNUMBER_MAX_LENGTH))
        if self.name is not None and not self.name.strip():
            errors.append("name is blank")
        elif self.name is not None and len(self.name) > NAME_MAX_LENGTH:
            errors.append("name is %d characters long, the site allows %d" % (len(self.name), NAME_MAX_LENGTH))
        if self.category_id is not None and self.category_id < 0:
            errors.append("category_id must be 0 (the system context) or a category id, got %d" % self.category_id)
        return errors

    def fail_on_blank_references(self):
        """Raise before any request when a reference is blank (with every other problem of the values)."""
        if self.blank_references():
            raise PlutoError("cohort %s: %s" % (self.label, "; ".join(self.local_errors())))


# ---- the read view of the site ----------------------------------------------------------------------

class CohortSite(object):
    """What plan_cohort may know of the site: plain data, read before planning, never a request.

    cohorts: the raw cohorts (as core_cohort_search_cohorts or get_cohorts answer them, with
      customfields). It must hold EVERY cohort of the site: absence, duplicates and the idnumbers a
      MySQL/MariaDB site takes as equal are concluded from it.
    contexts: {cohort id: context} (see _model.system_context / category_context) of the cohorts
      whose context was located; others read as a category the module cannot name.
    categories: {(key, str(value)): category or None} for lookups made ('id' or 'idnumber');
      category_list: every category (or None when not listed); category_problem: why categories
      cannot be checked (None when they can).
    members: {cohort id: set of user ids} of the cohorts whose members were read;
      members_problem: why members were not read (for a delete's diff).
    """

    def __init__(self, cohorts, contexts=None, categories=None, category_list=None, category_problem=None,
                 members=None, members_problem=None):
        self.cohorts = list(cohorts)
        self.contexts = dict(contexts or {})
        self.categories = dict(categories or {})
        self.category_list = category_list
        self.category_problem = category_problem
        self.members = dict(members or {})
        self.members_problem = members_problem
        self._by_id = dict((int(c["id"]), c) for c in self.cohorts)

    def by_id(self, cohort_id):
        return self._by_id.get(int(cohort_id))

    def by_idnumber(self, idnumber):
        """Every cohort whose idnumber is exactly idnumber."""
        return sorted((c for c in self.cohorts if c.get("idnumber") == idnumber), key=lambda c: int(c["id"]))

    def loose_matches(self, idnumber, except_id=None):
        """The cohorts whose idnumber differs from idnumber but that a MySQL/MariaDB site takes as equal to it."""
        key = loose_key(idnumber)
        others = [c for c in self.cohorts if c.get("idnumber") not in (idnumber, None) and int(c["id"]) != except_id]
        clashing = [c for c in others if loose_key(c["idnumber"]) == key]
        return sorted(clashing, key=lambda c: int(c["id"]))

    def context(self, cohort_id):
        return dict(self.contexts.get(int(cohort_id)) or category_context())

    def defined_fields(self):
        """The shortnames of the cohort custom fields the site defines; None when no cohort tells.

        The site lists every defined field on every cohort (with its stored or default value), so
        any one cohort tells them all.
        """
        if not self.cohorts:
            return None
        names = set()
        for cohort in self.cohorts:
            names.update(stored_custom_fields(cohort))
        return names

    def category(self, key, value):
        """The category whose key ('id' or 'idnumber') is value, or None; LookupError (why) when unknown."""
        lookup = (key, str(value))
        if lookup in self.categories:
            return self.categories[lookup]
        if self.category_list is not None:
            found = [c for c in self.category_list if str(c.get(key)) == str(value)]
            return found[0] if found else None
        raise LookupError(self.category_problem or "the categories were not read")

    def member_count(self, cohort_id):
        members = self.members.get(int(cohort_id))
        return None if members is None else len(members)


def wanted_category(task):
    """(key, value) of the category the task names, or None (none named, or the system context)."""
    if task.category_id is not None:
        return None if task.category_id <= 0 else ("id", task.category_id)
    if task.category_idnumber is not None:
        return ("idnumber", task.category_idnumber)
    return None


def read_cohort_site(reader, task):
    """The reads plan_cohort needs for one task: every cohort (one search), then only what the task needs.

    Requests: one search listing every cohort; the category the task names (one lookup); the
    context of the task's cohort (a search of the system context, then of the named category, then,
    only while not found, of each category); a deleted cohort's members (one read).
    """
    reader.site_info()
    cohorts = reader.search_cohorts("", includes="all")
    categories = Categories(reader)
    site = CohortSite(cohorts)
    named = wanted_category(task)
    wanted = None
    if named is not None:
        try:
            category = categories.find(*named)
            site.categories[(named[0], str(named[1]))] = category
            wanted = context_from_category(category) if category else None
        except LookupError as reason:
            site.category_problem = str(reason)
    if task.cohort_id is not None:
        current = [site.by_id(task.cohort_id)] if site.by_id(task.cohort_id) else []
    else:
        current = site.by_idnumber(task.idnumber)
    if len(current) == 1:
        raw = current[0]
        expected = [wanted] if wanted else []
        located = ContextLocator(reader, categories).locate([raw["id"]], raw.get("idnumber") or "", expected)
        site.contexts.update(located)
        if categories.unavailable and not site.category_problem:
            site.category_problem = categories.unavailable
        if task.state == "absent":
            if GET_COHORT_MEMBERS in reader.service_functions():
                try:
                    site.members.update(reader.members([raw["id"]]))
                except PlutoError as error:
                    # Only the diff's count depends on it: the delete itself does not.
                    site.members_problem = "the site did not list them: %s" % (error.errorcode or error)
            else:
                site.members_problem = "the token's web service lacks %s" % GET_COHORT_MEMBERS
    return site


# ---- planning: pure functions of the task and the site view ----------------------------------------------

def context_of(view):
    return dict((k, view[k]) for k in CONTEXT_KEYS)


def same_context(current, wanted):
    """True or False; None when the site does not let us tell."""
    if current["context"] != wanted["context"]:
        return False
    if current["context"] == SYSTEM:
        return True
    if wanted["category_id"] is not None and current["category_id"] is not None:
        return wanted["category_id"] == current["category_id"]
    if wanted["category_idnumber"] is not None and current["category_idnumber"] is not None:
        return wanted["category_idnumber"] == current["category_idnumber"]
    return None


def wanted_context(task, site, errors, warnings):
    """The context the task asks for: None (leave it where it is), system, or a category.

    A category that cannot be checked (no core_course_get_categories, or no right to search by
    idnumber) is left to the site's own check, with a warning.
    """
    if task.category_id is None and task.category_idnumber is None:
        return None
    if task.category_id == 0:
        return system_context()
    if task.category_id is not None and task.category_id < 0:
        return None
    key, value = ("id", task.category_id) if task.category_id is not None else ("idnumber", task.category_idnumber)
    try:
        category = site.category(key, value)
    except LookupError as reason:
        warnings.append("category %s %r was not checked (%s); the site's own check applies" % (key, value, reason))
        return category_context(task.category_id, task.category_idnumber)
    if category is None:
        errors.append("there is no course category with %s %r" % (key, value))
        return None
    return context_from_category(category)


def planned_context(task, current, wanted, warnings):
    if current is None:
        return wanted or system_context()
    if wanted is None:
        return context_of(current)
    same = same_context(current, wanted)
    if same is None:
        warnings.append("cohort %s: cannot tell whether it is already in %s, so no move is planned (an update of other "
                        "fields names that category)" % (task.label, describe_context(wanted)))
    return wanted if same is False else context_of(current)


def category_type(context):
    """The categorytype argument of create/update for a context; None when the category is unknown."""
    if context["context"] == SYSTEM:
        return {"type": "system", "value": 0}
    if context["category_id"] is not None:
        return {"type": "id", "value": context["category_id"]}
    if context["category_idnumber"] is not None:
        return {"type": "idnumber", "value": context["category_idnumber"]}
    return None


def theme_warning(task, reason):
    return ("theme %r of cohort %s is left as it is: %s; cohort themes look disabled on the site (%s)"
            % (task.theme, task.label, reason, THEMES_SETTING))


def theme_is_managed(task, current, warnings):
    """Whether this run compares and sends the task's theme.

    While cohort themes are disabled the site drops a theme it is sent, and answers null for a
    stored theme; for a cohort without a theme it answers "" whether themes are enabled or not.
    Asking again would report a change on every run, so in both cases the theme is left alone
    (a new cohort is always created with it: the site's answer then tells).
    """
    if task.theme is None or current is None:
        return task.theme is not None
    if current["theme"] is None:
        warnings.append(theme_warning(task, "the site hides the cohort's stored theme (it answers null)"))
        return False
    if current["theme"] == "" and task.theme != "":
        warnings.append(theme_warning(task, "the site answers no theme for the cohort"))
        return False
    return True


def managed_custom_fields(task, defined, warnings):
    """The task's custom fields the site can store: {shortname: text}, or None when the task gives none.

    Fields the site does not define for cohorts are left out with a warning naming them: the site
    would drop them silently. defined None (no cohort on the site tells): all are sent, and the
    read-back after the write reports what the site kept.
    """
    if task.custom_fields is None:
        return None
    if defined is None:
        if task.custom_fields:
            warnings.append("cohort %s: the site holds no cohort yet, so which custom fields it defines cannot be "
                            "checked before the create: %s are sent, and only what the site stores is reported"
                            % (task.label, ", ".join(sorted(task.custom_fields))))
        return dict(task.custom_fields)
    unknown = sorted(set(task.custom_fields) - defined)
    if unknown:
        warnings.append("cohort %s: the site does not define the custom field(s) %s for cohorts (defined: %s), so they "
                        "are not set; add them in Site administration > Users > Cohort custom fields, or remove them "
                        "from the task" % (task.label, ", ".join(unknown), ", ".join(sorted(defined)) or "none"))
    return dict((k, v) for k, v in task.custom_fields.items() if k in defined)


def planned_view(task, current, context, manage_theme, custom_fields=None):
    """The cohort as it will be after the task (current None: as it will be created)."""
    if current is None:
        view = cohort_view({"idnumber": task.idnumber, "name": task.name, "descriptionformat": 1, "theme": ""})
    else:
        view = dict(current, custom_fields=dict(current["custom_fields"]))
    for key in ("idnumber", "name", "description", "description_format", "visible"):
        if getattr(task, key) is not None:
            view[key] = getattr(task, key)
    if manage_theme:
        view["theme"] = task.theme
    view["custom_fields"].update(custom_fields or {})
    view.update(context)
    return view


def managed_fields(task, view, manage_theme, custom_fields):
    """The diff's lines: the fields the task manages (idnumber always), then the context."""
    fields = [("idnumber", view["idnumber"])]
    fields.extend((key, view[key]) for key in ("name", "description", "description_format", "visible")
                  if getattr(task, key) is not None)
    if manage_theme:
        fields.append(("theme", view["theme"]))
    if custom_fields:
        fields.append(("custom_fields", dict((k, view["custom_fields"].get(k)) for k in custom_fields)))
    fields.append(("context", describe_context(view)))
    return fields


def header(view, note=None):
    """How a diff side names the cohort: its idnumber, then its id and a note when there are."""
    details = (["id %d" % view["id"]] if view.get("id") is not None else []) + ([note] if note else [])
    return "cohort %s%s" % (view["idnumber"], " (%s)" % ", ".join(details) if details else "")


def create_item(task, planned, custom_fields):
    item = {"categorytype": category_type(planned), "name": task.name, "idnumber": task.idnumber}
    if task.description is not None:
        item["description"] = task.description
    if task.description_format is not None:
        item["descriptionformat"] = DESCRIPTION_FORMATS[task.description_format]
    if task.visible is not None:
        item["visible"] = task.visible
    if task.theme is not None:
        item["theme"] = task.theme
    if custom_fields:
        item["customfields"] = [{"shortname": k, "value": v} for k, v in sorted(custom_fields.items())]
    return item


def update_item(current, planned, stored_format, categorytype):
    """One update: what the site requires every time, plus only the fields that change.

    An omitted descriptionformat resets the stored one to html, so the stored format (or the
    wanted one) is always sent.
    """
    item = {"id": current["id"], "categorytype": categorytype, "name": planned["name"],
            "idnumber": planned["idnumber"], "descriptionformat": stored_format}
    if planned["description_format"] != current["description_format"]:
        item["descriptionformat"] = DESCRIPTION_FORMATS[planned["description_format"]]
    for key in ("description", "visible", "theme"):
        if planned[key] != current[key]:
            item[key] = planned[key]
    changed_fields = sorted(k for k, v in planned["custom_fields"].items() if current["custom_fields"].get(k) != v)
    if changed_fields:
        item["customfields"] = [{"shortname": k, "value": planned["custom_fields"][k]} for k in changed_fields]
    return item


def update_errors(planned, categorytype):
    """What would make the site refuse (or misplace) the update the plan needs."""
    errors = []
    if not (planned["name"] or "").strip():
        errors.append("the cohort's name on the site is blank and the site's update refuses a blank name: give name")
    if categorytype is None:
        errors.append("the module cannot find which category the cohort is in (add %s to the token's web service), and "
                      "the site's update must be told: give category_id or category_idnumber" % GET_CATEGORIES)
    return errors


def identify(task, site, errors, warnings):
    """The task's cohort on the site (raw) or None; duplicates and spellings the site holds otherwise are named."""
    if task.cohort_id is not None:
        raw = site.by_id(task.cohort_id)
        if raw is None and task.state == "present":
            errors.append("there is no cohort with id %d; to create a cohort give its idnumber without id" % task.cohort_id)
        return raw
    exact = site.by_idnumber(task.idnumber)
    if len(exact) > 1:
        raise PlutoError("cohort %s: %s: the idnumber names none of them; give id to name the one to keep (and a new "
                         "idnumber to rename it), or delete or rename the others on the site first"
                         % (task.label, duplicates_text(task.idnumber, exact)))
    if exact:
        return exact[0]
    loose = site.loose_matches(task.idnumber)
    if loose and task.state == "present":
        named = ", ".join("cohort " + cohort_label(c) for c in loose)
        errors.append("no cohort has exactly this idnumber, and it cannot be created beside %s: %s and refuse the create "
                      "with a bare invalidparameter, so the collection refuses it on every site. If %s is the one meant "
                      "(renamed on the site?), use its exact idnumber, or rename it with id: %d and idnumber: %r"
                      % (named, COLLATION_RULE, named, int(loose[0]["id"]), task.idnumber))
    elif loose:
        warnings.append("cohort %s: no cohort has exactly this idnumber, so nothing is deleted; the site holds %s, which "
                        "MySQL/MariaDB sites take as the same idnumber: name it exactly (or by id) to delete it"
                        % (task.label, ", ".join("cohort " + cohort_label(c) for c in loose)))
    return None


def rename_errors(task, site, current):
    """A rename to an idnumber another cohort holds, exactly or as MySQL/MariaDB sites compare."""
    if task.idnumber is None or task.idnumber == current["idnumber"]:
        return []
    errors = []
    holders = [c for c in site.by_idnumber(task.idnumber) if int(c["id"]) != current["id"]]
    if holders:
        errors.append("idnumber %r is already used by cohort id %s" % (
            task.idnumber, ", ".join(str(int(c["id"])) for c in holders)))
    loose = site.loose_matches(task.idnumber, except_id=current["id"])
    if loose:
        errors.append("cannot rename to idnumber %r while the site holds %s: %s, and their member adds by idnumber "
                      "would reach either cohort, so the collection refuses it on every site"
                      % (task.idnumber, ", ".join("cohort " + cohort_label(c) for c in loose), COLLATION_RULE))
    return errors


class CohortPlan(Plan):
    """The plan of one cohort, with what its report and follow-up need to know."""

    def __init__(self, task, **kwargs):
        super(CohortPlan, self).__init__(owner=task.owner, reporter=report_cohort, **kwargs)
        self.task = task
        self.planned = None          # the cohort view as the plan leaves it
        self.write = None            # CREATE_COHORTS, UPDATE_COHORTS, DELETE_COHORTS or None
        self.ref = None              # the Ref of a planned create
        self.custom_fields = None    # the custom fields the write sends (None: none managed)
        self.site = None
        self.made_cohort = True      # a follow-up: False when the site refused this run's create (another run's cohort)

    def follow_up(self, outcome, reader):
        """After apply: the plan whose report is the task's result, or None (this plan's own report)."""
        return settle_cohort(self, outcome, reader)


def plan_cohort(task, site):
    """The plan of one cohort: pure, a function of the wanted cohort and a read view of the site.

    task: a CohortTask. site: a CohortSite holding every cohort of the site (the contexts, categories
    and members it needs of this cohort: see CohortSite and read_cohort_site).
    Returns a CohortPlan (a _plan.Plan) whose owner is task.owner, whose operations are at most one
    create, update or delete of this cohort, whose result is {changed, cohort, diff} and whose
    warnings name what is left alone. Raises PlutoError naming the cohort and every problem found
    (bad values, a missing category, duplicates, idnumbers a MySQL/MariaDB site takes as another
    cohort's) before any write: a caller planning many cohorts collects these errors.
    After applying, call plan.follow_up(outcome, reader): it reads back a create (and a write of
    custom fields) and returns the plan whose report is the cohort's result (with the writes that
    converge a concurrent create: delete the higher twin this run made, update the winner), or None
    when the plan's own report stands. A caller that merged many plans (merge_plans) applies the
    merged plan once, calls follow_up of each part with that one outcome (owners keep the parts
    apart), merges the plans returned, applies them, and reports each part from its follow-up plan.
    The view is never changed by planning: one view serves every cohort of a run.
    """
    warnings = []
    errors = task.local_errors()
    if errors and task.blank_references():
        raise PlutoError("cohort %s: %s" % (task.label, "; ".join(errors)))
    plan = CohortPlan(task)
    plan.warnings = warnings
    plan.site = site
    raw = identify(task, site, errors, warnings)
    if task.state == "absent":
        if errors:
            raise PlutoError("cohort %s: %s" % (task.label, "; ".join(errors)))
        return plan_absent(plan, task, site, raw)

    wanted = wanted_context(task, site, errors, warnings)
    current = None
    if raw is None and task.cohort_id is None and task.name is None and not errors:
        errors.append("name is required to create the cohort")
    elif raw is not None:
        current = cohort_view(raw, site.context(raw["id"]))
        errors.extend(rename_errors(task, site, current))
    if errors:
        raise PlutoError("cohort %s: %s" % (task.label, "; ".join(errors)))

    defined = set(current["custom_fields"]) if current is not None else site.defined_fields()
    custom_fields = managed_custom_fields(task, defined, warnings)
    manage_theme = theme_is_managed(task, current, warnings)
    planned = planned_view(task, current, planned_context(task, current, wanted, warnings), manage_theme, custom_fields)
    before = managed_fields(task, current, manage_theme, custom_fields) if current else []
    after = managed_fields(task, planned, manage_theme, custom_fields)
    changed = before != after
    plan.planned = planned
    plan.custom_fields = custom_fields
    if current is None:
        plan.write = CREATE_COHORTS
        plan.ref = plan.create(CREATE_COHORTS, create_item(task, planned, custom_fields), owner=task.owner,
                               hooks=CreateHooks(task), label=task.idnumber)
    elif changed:
        # A cohort whose category cannot be found is still updated in the category the task names.
        categorytype = category_type(planned) or (category_type(wanted) if wanted else None)
        errors = update_errors(planned, categorytype)
        if errors:
            raise PlutoError("cohort %s: %s" % (task.label, "; ".join(errors)))
        plan.write = UPDATE_COHORTS
        plan.add(UPDATE_COHORTS, [update_item(current, planned, raw.get("descriptionformat"), categorytype)],
                 owner=task.owner)
    plan.result = {"changed": changed, "cohort": planned,
                   "diff": text_diff(before, after, header(current) if current else header(planned, "absent"),
                                     header(planned, "new" if current is None else None))}
    return plan


def members_line(site, cohort_id):
    count = site.member_count(cohort_id)
    if count is None:
        return ("members", "unknown (%s)" % (site.members_problem or "not read"))
    return ("members", "%d (removed with the cohort)" % count)


def plan_absent(plan, task, site, raw):
    """state=absent: delete the cohort if it exists (the site's delete fails on a missing one)."""
    plan.result = {"changed": raw is not None, "cohort": {}}
    if raw is None:
        return plan
    current = cohort_view(raw, site.context(raw["id"]))
    fields = [(k, current[k]) for k in ("idnumber", "name", "description", "visible") if current[k] != ""]
    fields.append(("context", describe_context(current)))
    fields.append(members_line(site, current["id"]))
    plan.result["diff"] = text_diff(fields, [], header(current), header(current, "deleted"))
    plan.write = DELETE_COHORTS
    plan.add(DELETE_COHORTS, [int(raw["id"])], owner=task.owner, hooks=DeleteHooks(task))
    return plan


# ---- after the writes: hooks, read-back and convergence ------------------------------------------------------

def cohorts_by_id(reader, query, ids):
    """The cohorts of ids, read with one search (query: a text they all match, such as their idnumber).

    A search needs no function beyond the one every task uses (core_cohort_get_cohorts is optional).
    """
    wanted = set(int(i) for i in ids)
    return [c for c in reader.search_cohorts(query, includes="all") if int(c["id"]) in wanted]


class CreateHooks(Hooks):
    """A create refused because another run created the idnumber first (the loser of a race).

    Moodle answers a bare invalidparameter: the site is read again; if a cohort now holds the
    idnumber exactly, this run goes on with it (follow_up plans what still differs).
    """

    max_recoveries = 1

    def __init__(self, task):
        self.task = task
        self.winner = None

    def on_error(self, error, items, reader):
        if error.errorcode != "invalidparameter" or error.transport:
            return None
        holders = reader.cohorts_by_idnumber(self.task.idnumber)
        if not holders:
            loose = CohortSite(reader.search_cohorts("", includes="all")).loose_matches(self.task.idnumber)
            if loose:
                error.message += ("; since this task read the site, %s appeared, which MySQL/MariaDB sites take as the "
                                  "same idnumber" % ", ".join("cohort " + cohort_label(c) for c in loose))
            return None
        self.winner = min(holders, key=lambda c: int(c["id"]))
        return Recovery(applied=items, warnings=[
            "cohort %s: another run created it at the same moment (id %d); this run goes on with that cohort"
            % (self.task.label, int(self.winner["id"]))])


class DeleteHooks(Hooks):
    """A delete of a cohort someone else deleted after it was read: absent all the same."""

    max_recoveries = 1

    def __init__(self, task):
        self.task = task

    def on_error(self, error, items, reader):
        if error.errorcode != "invalidrecord" or cohorts_by_id(reader, self.task.idnumber or "", items):
            return None
        return Recovery(applied=items, warnings=["cohort %s was deleted by someone else while this task ran"
                                                 % self.task.label])


def failure_text(plan, error):
    verb = {CREATE_COHORTS: "create", UPDATE_COHORTS: "update", DELETE_COHORTS: "delete"}.get(plan.write, "change")
    text = "could not %s cohort %s: %s" % (verb, plan.task.label, error)
    if plan.write == UPDATE_COHORTS and error.errorcode == "invalidrecord":
        # The site's answer to an update of an id it does not hold: someone else deleted the cohort after it was read.
        text += "; the cohort no longer exists on the site (deleted since this task read it): run the task again to create it"
    return text


def report_cohort(plan, outcome):
    """The task's result: the planned one (check mode, or all applied), or the failure naming the cohort."""
    result = dict(plan.result)
    warnings = list(plan.warnings)
    if outcome is not None:
        part = outcome.of(plan.owner)
        warnings.extend(part.warnings)
        if part.failure is not None:
            result = {"failed": True, "msg": failure_text(plan, part.failure), "changed": False}
            if part.failure.errorcode:
                result["errorcode"] = part.failure.errorcode
        elif plan.ref is not None and outcome.created_id(plan.ref) is not None:
            result["cohort"] = dict(result["cohort"], id=outcome.created_id(plan.ref))
    if warnings:
        result["warnings"] = warnings
    return result


def settle_cohort(plan, outcome, reader):
    """After the plan's writes: read back what needs it, and converge a concurrent create.

    - a create is read back (one search of its idnumber): the site may hold another cohort of that
      idnumber made by another run at the same moment (Moodle checks and inserts without a lock).
      The lowest id wins: a run that made a higher one, still empty, deletes it and goes on with
      the lowest (updating what differs from the task); a higher one that already has members is
      left, and the task fails naming both ids. The run that made the lowest keeps it.
    - a create refused because the idnumber was taken meanwhile (see CreateHooks) goes on with the
      cohort that holds it.
    - a write that sent custom fields reports what the site stored, warning about the others.
    Returns the plan whose report is the task's result, or None (the plan's own report stands).
    """
    part = outcome.of(plan.owner)
    if part.failure is not None or plan.write not in (CREATE_COHORTS, UPDATE_COHORTS):
        return None
    task = plan.task
    hooks = None
    for operation in plan.operations:
        hooks = operation.hooks.get(plan.owner) or hooks
    created_id = outcome.created_id(plan.ref) if plan.ref is not None else None
    if plan.write == UPDATE_COHORTS:
        if not plan.custom_fields:
            return None
        return read_back(plan, outcome, cohorts_by_id(reader, plan.planned["idnumber"] or "", [plan.planned["id"]]),
                         plan.planned["id"])
    holders = sorted(reader.cohorts_by_idnumber(task.idnumber), key=lambda c: int(c["id"]))
    winner = getattr(hooks, "winner", None)
    if created_id is None and winner is None:
        return None
    others = [c for c in holders if int(c["id"]) != created_id]
    if created_id is not None and not others:
        return read_back(plan, outcome, holders, created_id)
    lowest = int(holders[0]["id"]) if holders else created_id
    ids = ", ".join(str(int(c["id"])) for c in holders)
    if created_id is not None and lowest == created_id:
        # This run made the lowest id: it keeps it, and gives the other run a moment to delete its own.
        holders = wait_for_others(reader, task.idnumber, created_id) or holders
        plan.warnings.append("cohort %s: another run created the same idnumber at the same moment (ids %s); the "
                             "lowest id wins, so this run keeps id %d and the other run deleted its own"
                             % (task.label, ids, created_id))
        return read_back(plan, outcome, holders, created_id)
    follow = CohortPlan(task, warnings=list(plan.warnings) + list(part.warnings))
    if created_id is not None:
        if not reader.has_function(GET_COHORT_MEMBERS):
            reason = "this run cannot check that the cohort it made (id %d) is still empty (the token's web service " \
                     "lacks %s)" % (created_id, GET_COHORT_MEMBERS)
        else:
            members = reader.members([created_id]).get(created_id, set())
            reason = ("the cohort this run made (id %d) already has %d members" % (created_id, len(members))
                      if members else None)
        if reason:
            raise PlutoError("cohort %s: another run created the same idnumber at the same moment (ids %s) and %s, so "
                             "it is not deleted: keep one of them (pluto_cohort with id), delete or rename the other, "
                             "then run the task again" % (task.label, ids, reason), result={"changed": True})
        follow.warnings.append("cohort %s: another run created the same idnumber at the same moment (ids %s); the "
                               "lowest id wins, so this run deleted the one it made (id %d) and goes on with id %d"
                               % (task.label, ids, created_id, lowest))
        follow.add(DELETE_COHORTS, [created_id], owner=task.owner)
    winner_raw = holders[0] if holders else winner
    site = CohortSite([winner_raw], contexts=plan.site.contexts, categories=plan.site.categories,
                      category_list=plan.site.category_list, category_problem=plan.site.category_problem)
    # The other run may have made it elsewhere: locate it, starting with the context this task wants.
    expected = [context_of(plan.planned)] if plan.planned["context"] != SYSTEM else []
    site.contexts.update(ContextLocator(reader, Categories(reader)).locate([winner_raw["id"]], task.idnumber, expected))
    converged = plan_cohort(CohortTask(dict(task_params(task), id=int(winner_raw["id"]))), site)
    follow.operations.extend(converged.operations)
    follow.write = converged.write or DELETE_COHORTS
    follow.planned = dict(converged.planned, id=int(winner_raw["id"]))
    if created_id is None:
        # The site refused this run's create: the cohort is the other run's, and this run reports only what it
        # changes in it (an update where it differs), as a run that found it would.
        follow.result = dict(converged.result, cohort=follow.planned)
        follow.made_cohort = False
    else:
        follow.result = dict(plan.result, changed=True, cohort=follow.planned)
    follow.warnings.extend(w for w in converged.warnings if w not in follow.warnings)
    follow.reporter = report_follow_up
    return follow


# How long the run that made the lowest id waits for the other run to delete its duplicate: the other run
# reads back right after its own create, so a few short waits are plenty.
DUPLICATE_WAITS = (0.25, 0.5, 1.0)


def wait_for_others(reader, idnumber, kept_id, waits=DUPLICATE_WAITS, sleep=time.sleep, jitter=random.random):
    """The holders of idnumber once only kept_id is left; PlutoError naming them if others stay.

    The other run may have read back before this run's create was visible to it, and then never
    sees the pair: a duplicate that stays is named, with the fix, rather than left silently.
    """
    holders = []
    for wait in waits:
        sleep(wait * (0.5 + jitter()))
        holders = sorted(reader.cohorts_by_idnumber(idnumber), key=lambda c: int(c["id"]))
        if [int(c["id"]) for c in holders] == [kept_id]:
            return holders
    others = [int(c["id"]) for c in holders if int(c["id"]) != kept_id]
    if not others:
        return holders
    raise PlutoError("cohort %r: another run created the same idnumber at the same moment; this run made the lowest id "
                     "(%d), which wins, but cohort id %s is still there: delete it if it is empty (pluto_cohort with id "
                     "and state absent) and run the task again" % (idnumber, kept_id, ", ".join(str(i) for i in others)),
                     result={"changed": True})


def report_follow_up(plan, outcome):
    result = report_cohort(plan, outcome)
    if result.get("failed") and plan.made_cohort:
        result["changed"] = True  # the create was applied before
    return result


def read_back(plan, outcome, raws, cohort_id):
    """A plan without writes whose report is the cohort as the site stored it (custom fields, theme)."""
    task = plan.task
    stored = [c for c in raws if int(c["id"]) == int(cohort_id)]
    follow = CohortPlan(task, warnings=list(plan.warnings) + list(outcome.of(plan.owner).warnings))
    follow.result = dict(plan.result)
    cohort = dict(plan.planned, id=int(cohort_id))
    if stored:
        kept = stored_custom_fields(stored[0])
        if plan.custom_fields:
            dropped = sorted(k for k, v in plan.custom_fields.items() if kept.get(k) != v)
            if dropped:
                follow.warnings.append("cohort %s: the site did not store the custom field(s) %s (it does not define "
                                       "them for cohorts, or refused the values); they are not reported"
                                       % (task.label, ", ".join(dropped)))
        cohort["custom_fields"] = kept
        if plan.write == CREATE_COHORTS and task.theme and not stored[0].get("theme"):
            cohort["theme"] = stored[0].get("theme")
            follow.warnings.append("the site dropped theme %r of the new cohort %s: cohort themes are disabled on the "
                                   "site (%s)" % (task.theme, task.label, THEMES_SETTING))
    else:
        follow.warnings.append("cohort %s: the site did not show the cohort when read back (id %d), so its stored values "
                               "could not be checked" % (task.label, int(cohort_id)))
    follow.result["cohort"] = cohort
    return follow


def task_params(task):
    return {"state": task.state, "id": task.cohort_id, "idnumber": task.idnumber, "name": task.name,
            "description": task.description, "description_format": task.description_format,
            "visible": task.visible, "theme": task.theme, "custom_fields": task.custom_fields,
            "category_id": task.category_id, "category_idnumber": task.category_idnumber}


# ---- the module's plan function -------------------------------------------------------------------

def plan(params, reader):
    """pluto_cohort: plan(params, reader) -> CohortPlan (see plan_cohort)."""
    task = CohortTask(params)
    task.fail_on_blank_references()
    # Every function this task may call, named at once before any other request (check mode never writes:
    # the runner then only warns about a missing write function).
    reads = [SEARCH_COHORTS]
    writes = [CREATE_COHORTS, UPDATE_COHORTS] if task.state == "present" else [DELETE_COHORTS]
    reader.require(reads if reader.check_mode else reads + writes)
    cohort_plan = plan_cohort(task, read_cohort_site(reader, task))
    cohort_plan.reads.update(reader.reads)
    return cohort_plan
