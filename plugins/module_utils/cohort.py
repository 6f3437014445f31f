# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of pluto_cohort (one cohort, present or absent).

It plans from reads only, then applies its plan unless in check mode, so check mode and a
real run report the same `changed` and diff.

The web service never says which context a cohort lives in: the only way to learn it is to
search one context with includes=self. Contexts are placed with as few searches as possible
(see ContextLocator).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pluto.lms.plugins.module_utils._client import (
    DESCRIPTION_FORMATS,
    PlutoError,
)
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
    system_context,
)
from ansible_collections.pluto.lms.plugins.module_utils._readable_diff import text_diff

GET_COHORTS = "core_cohort_get_cohorts"
SEARCH_COHORTS = "core_cohort_search_cohorts"
CREATE_COHORTS = "core_cohort_create_cohorts"
UPDATE_COHORTS = "core_cohort_update_cohorts"
DELETE_COHORTS = "core_cohort_delete_cohorts"
GET_COHORT_MEMBERS = "core_cohort_get_cohort_members"
GET_USERS_BY_FIELD = "core_user_get_users_by_field"
GET_CATEGORIES = "core_course_get_categories"

# The database columns' limits; a longer value makes the site fail with a bare dmlwriteexception.
NAME_MAX_LENGTH = 254
IDNUMBER_MAX_LENGTH = 100


THEMES_SETTING = "Site administration > Appearance > Advanced theme settings > Allow cohort themes"


def wrap_error(prefix, error):
    """The same PlutoError with a prefix that says what the module was doing."""
    return PlutoError("%s: %s" % (prefix, error), errorcode=error.errorcode, debuginfo=error.debuginfo,
                      wsfunction=error.wsfunction, result=error.result)


# ---- pluto_cohort --------------------------------------------------------------------------

CONTEXT_KEYS = ("context", "category_id", "category_idnumber")


def context_of(view):
    return dict((k, view[k]) for k in CONTEXT_KEYS)


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

    def local_errors(self):
        """What is wrong with the task's own values, before asking the site anything."""
        errors = []
        if self.idnumber is not None and not self.idnumber.strip():
            errors.append("idnumber is blank")
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


def check_functions(client, task, check_mode, warnings):
    """Name, all at once and before any write, every function this run may call and the service lacks.

    Check mode never writes: a missing write function is then a warning (the real run would fail).
    """
    reads = [SEARCH_COHORTS] + ([GET_COHORTS] if task.cohort_id is not None else [])
    writes = [CREATE_COHORTS, UPDATE_COHORTS] if task.state == "present" else [DELETE_COHORTS]
    if not check_mode:
        client.require_functions(reads + writes)
        return
    client.require_functions(reads)
    missing = sorted(set(writes) - client.service_functions())
    if missing:
        warnings.append("the token's web service lacks %s: a run without check mode would fail" % ", ".join(missing))


def find_current(client, task):
    """The cohort the task names (raw, as the site answers it), or None. Duplicates fail with their ids."""
    if task.cohort_id is not None:
        found = client.get_cohorts([task.cohort_id])
        return found[0] if found else None
    matches = client.find_cohorts_by_idnumber(task.idnumber)
    if len(matches) > 1:
        raise PlutoError("cohort %s: %s; name the one to keep with id (and give it a new idnumber), or remove the "
                         "duplicates on the site first" % (task.label, duplicates_text(task.idnumber, matches)))
    return matches[0] if matches else None


def wanted_context(task, categories, errors, warnings):
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
        category = categories.find(key, value)
    except LookupError as reason:
        warnings.append("category %s %r was not checked (%s); the site's own check applies" % (key, value, reason))
        return category_context(task.category_id, task.category_idnumber)
    if category is None:
        errors.append("there is no course category with %s %r" % (key, value))
        return None
    return context_from_category(category)


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


def site_errors(client, task, current):
    """What the site would refuse or get wrong about an update of an existing cohort."""
    errors = []
    if task.idnumber is not None and task.idnumber != current["idnumber"]:
        # The site's update does not check that a new idnumber is free.
        holders = sorted(int(c["id"]) for c in client.find_cohorts_by_idnumber(task.idnumber) if int(c["id"]) != current["id"])
        if holders:
            errors.append("idnumber %r is already used by cohort id %s" % (task.idnumber, ", ".join(str(i) for i in holders)))
    if task.custom_fields:
        unknown = sorted(set(task.custom_fields) - set(current["custom_fields"]))
        if unknown:
            errors.append("custom field %s not defined for cohorts on the site (defined: %s)"
                          % (", ".join(unknown), ", ".join(sorted(current["custom_fields"])) or "none"))
    return errors


def planned_view(task, current, context, manage_theme):
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
    view["custom_fields"].update(task.custom_fields or {})
    view.update(context)
    return view


def managed_fields(task, view, manage_theme):
    """The diff's lines: the fields the task manages (idnumber always), then the context."""
    fields = [("idnumber", view["idnumber"])]
    fields.extend((key, view[key]) for key in ("name", "description", "description_format", "visible")
                  if getattr(task, key) is not None)
    if manage_theme:
        fields.append(("theme", view["theme"]))
    if task.custom_fields is not None:
        fields.append(("custom_fields", dict((k, view["custom_fields"].get(k)) for k in task.custom_fields)))
    fields.append(("context", describe_context(view)))
    return fields


def header(view, note=None):
    """How a diff side names the cohort: its idnumber, then its id and a note when there are."""
    details = (["id %d" % view["id"]] if view.get("id") is not None else []) + ([note] if note else [])
    return "cohort %s%s" % (view["idnumber"], " (%s)" % ", ".join(details) if details else "")


def create_item(task, planned):
    item = {"categorytype": category_type(planned), "name": task.name, "idnumber": task.idnumber}
    if task.description is not None:
        item["description"] = task.description
    if task.description_format is not None:
        item["descriptionformat"] = DESCRIPTION_FORMATS[task.description_format]
    if task.visible is not None:
        item["visible"] = task.visible
    if task.theme is not None:
        item["theme"] = task.theme
    if task.custom_fields:
        item["customfields"] = [{"shortname": k, "value": v} for k, v in sorted(task.custom_fields.items())]
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


def cohort_logic(params, client, check_mode=False, diff=False):
    """pluto_cohort: read, plan and check everything, then (unless check mode) write once."""
    task = CohortTask(params)
    warnings = []
    errors = task.local_errors()
    if errors and task.idnumber is not None and not task.idnumber.strip():
        raise PlutoError("cohort %s: %s" % (task.label, "; ".join(errors)))
    check_functions(client, task, check_mode, warnings)
    raw = find_current(client, task)
    if task.state == "absent":
        return absent_logic(client, task, raw, check_mode, diff, warnings)

    categories = Categories(client.reader())
    wanted = wanted_context(task, categories, errors, warnings)
    current = None
    if raw is None and task.cohort_id is not None:
        errors.append("there is no cohort with id %d; to create a cohort give its idnumber without id" % task.cohort_id)
    elif raw is None and task.name is None:
        errors.append("name is required to create the cohort")
    elif raw is not None:
        located = ContextLocator(client.reader(), categories).locate([raw["id"]], raw.get("idnumber") or "", [wanted] if wanted else [])
        current = cohort_view(raw, located[int(raw["id"])])
        errors.extend(site_errors(client, task, current))
    if errors:
        raise PlutoError("cohort %s: %s" % (task.label, "; ".join(errors)))

    manage_theme = theme_is_managed(task, current, warnings)
    planned = planned_view(task, current, planned_context(task, current, wanted, warnings), manage_theme)
    before = managed_fields(task, current, manage_theme) if current else []
    after = managed_fields(task, planned, manage_theme)
    changed = before != after
    if current is None:
        write = (CREATE_COHORTS, create_item(task, planned))
    elif changed:
        # A cohort whose category cannot be found is still updated in the category the task names.
        categorytype = category_type(planned) or (category_type(wanted) if wanted else None)
        errors = update_errors(planned, categorytype)
        if errors:
            raise PlutoError("cohort %s: %s" % (task.label, "; ".join(errors)))
        write = (UPDATE_COHORTS, update_item(current, planned, raw.get("descriptionformat"), categorytype))
    result = {"changed": changed, "cohort": planned, "warnings": warnings}
    if diff:
        result["diff"] = text_diff(before, after, header(current) if current else header(planned, "absent"),
                                   header(planned, "new" if current is None else None))
    if changed and not check_mode:
        apply_write(client, task, write, planned, warnings)
    return result


def apply_write(client, task, write, planned, warnings):
    """Send the one write of the plan; a new cohort's id (and the theme the site kept) go into planned."""
    wsfunction, item = write
    try:
        if wsfunction == UPDATE_COHORTS:
            client.update_cohorts([item])
            return
        created = client.create_cohorts([item])[0]
    except PlutoError as error:
        if wsfunction == UPDATE_COHORTS and error.errorcode == "invalidrecord":
            # The site's answer to an update of an id it does not hold: someone else deleted the cohort after it was read.
            error.message += "; the cohort no longer exists on the site (deleted since this task read it): run the task again to create it"
        raise wrap_error("could not %s cohort %s" % ("update" if wsfunction == UPDATE_COHORTS else "create", task.label), error)
    planned["id"] = int(created["id"])
    if task.theme and not created.get("theme"):
        planned["theme"] = created.get("theme")
        warnings.append("the site dropped theme %r of the new cohort %s: cohort themes are disabled on the site (%s)"
                        % (task.theme, task.label, THEMES_SETTING))


def absent_logic(client, task, raw, check_mode, diff, warnings):
    """state=absent: delete the cohort if it exists (the site's delete fails on a missing one)."""
    result = {"changed": raw is not None, "cohort": {}, "warnings": warnings}
    if raw is None:
        return result
    if diff:
        located = ContextLocator(client.reader(), Categories(client.reader())).locate([raw["id"]], raw.get("idnumber") or "")
        current = cohort_view(raw, located[int(raw["id"])])
        fields = [(k, current[k]) for k in ("idnumber", "name", "description", "visible") if current[k] != ""]
        fields.append(("context", describe_context(current)))
        result["diff"] = text_diff(fields, [], header(current), header(current, "deleted"))
    if not check_mode:
        try:
            client.delete_cohorts([int(raw["id"])])
        except PlutoError as error:
            # The site fails a delete of a cohort that someone else deleted after it was read: it is absent all the same.
            if error.errorcode != "invalidrecord" or client.get_cohorts([int(raw["id"])]):
                raise wrap_error("could not delete cohort %s" % task.label, error)
            warnings.append("cohort %s was deleted by someone else while this task ran" % task.label)
    return result
