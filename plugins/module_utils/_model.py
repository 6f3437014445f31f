# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A model of the site's objects as the modules see them: cohorts (their views and contexts),
course categories, and references to users.

The web service never says which context a cohort lives in: the only way to learn it is to
search one context with includes=self. Contexts are placed with as few searches as possible
(see ContextLocator). Everything here reads through a SiteReader.

Private to pluto.lms: not a public API, it may change in any release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import namedtuple

from ansible_collections.pluto.lms.plugins.module_utils._client import DESCRIPTION_FORMAT_NAMES, DESCRIPTION_FORMATS
from ansible_collections.pluto.lms.plugins.module_utils._errors import PlutoError

__all__ = ["DESCRIPTION_FORMATS", "DESCRIPTION_FORMAT_NAMES", "Categories", "ContextLocator", "UserRef"]

GET_CATEGORIES = "core_course_get_categories"

SYSTEM = "system"
CATEGORY = "category"


# ---- shapes ------------------------------------------------------------------------------

def system_context():
    return {"context": SYSTEM, "category_id": 0, "category_idnumber": None}


def category_context(category_id=None, category_idnumber=None):
    """A category context; category_id None when the site would not tell which category."""
    return {"context": CATEGORY, "category_id": category_id, "category_idnumber": category_idnumber}


def context_from_category(category):
    return category_context(int(category["id"]), category.get("idnumber") or None)


def describe_context(context):
    """The context as one short phrase, for diffs and messages."""
    if context["context"] == SYSTEM:
        return SYSTEM
    if context["category_id"] is None and context["category_idnumber"] is None:
        return "category (unknown)"
    if context["category_id"] is None:
        return "category %s" % context["category_idnumber"]
    if context["category_idnumber"]:
        return "category %s (id %d)" % (context["category_idnumber"], context["category_id"])
    return "category id %d" % context["category_id"]


def format_name(value):
    """descriptionformat as its name ('html'); an unknown number stays a number."""
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return str(value)
    return DESCRIPTION_FORMAT_NAMES.get(number, number)


def field_text(value):
    """A custom field value as the site stores it: a string ('1'/'0' for booleans)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def stored_custom_fields(raw):
    """{shortname: stored value as text} from the site's customfields list."""
    fields = {}
    for field in raw.get("customfields") or []:
        value = field.get("valueraw", field.get("value"))
        fields[str(field.get("shortname"))] = field_text(value)
    return fields


def cohort_view(raw, context=None):
    """The `cohort` return value for a cohort as the site answered it (raw description)."""
    view = {
        "id": int(raw["id"]) if raw.get("id") is not None else None,
        "idnumber": raw.get("idnumber"),
        "name": raw.get("name"),
        "description": raw.get("description") or "",
        "description_format": format_name(raw.get("descriptionformat")),
        "visible": bool(raw.get("visible", True)),
        "theme": raw.get("theme"),
        "custom_fields": stored_custom_fields(raw),
    }
    view.update(context or category_context())
    return view


# ---- reads shared by both modules -----------------------------------------------------------

class Categories(object):
    """The site's course categories, read lazily and each way at most once.

    core_course_get_categories is optional: without it (or when the token may not search
    categories by idnumber) a category cannot be checked, and the site's own create/update
    check is trusted instead; `unavailable` then says why, for a warning.
    """

    def __init__(self, reader):
        self.reader = reader
        self.listable = reader.has_function(GET_CATEGORIES)
        self.unavailable = None if self.listable else "the token's web service lacks %s" % GET_CATEGORIES
        self._all = None

    def all(self):
        """Every category the token may see; None when they cannot be listed."""
        if self.listable and self._all is None:
            self._all = self.reader.categories()
        return self._all

    def find(self, key, value):
        """The category whose key ('id' or 'idnumber') is value, or None.

        Raises LookupError (saying why) when the site cannot be asked.
        """
        if not self.listable:
            raise LookupError(self.unavailable)
        if self._all is not None:
            found = [c for c in self._all if str(c.get(key)) == str(value)]
        else:
            try:
                found = self.reader.categories(key, value)
            except PlutoError as error:
                if error.errorcode != "criteriaerror":
                    raise
                # Searching by idnumber needs category-management rights; without them the
                # plain list does not show idnumbers either.
                self.unavailable = "the token's user may not search categories by %s (criteriaerror)" % key
                raise LookupError(self.unavailable)
        return found[0] if found else None


class ContextLocator(object):
    """Finds which context each cohort lives in, with as few searches as possible.

    One search of the system context first, then the categories the caller expects, then
    (only while cohorts remain unplaced) every category in turn. query narrows each search:
    it must be a text every wanted cohort matches (its idnumber, or the caller's own query).
    """

    def __init__(self, reader, categories):
        self.reader = reader
        self.categories = categories

    def locate(self, cohort_ids, query="", expected=()):
        """{cohort id: context} for every id; one found nowhere gets a category context without id.

        expected: category contexts to search right after the system context.
        """
        remaining = set(int(i) for i in cohort_ids)
        placed = {}
        searched = set()

        def search(context):
            if not remaining or context["category_id"] in searched:
                return
            searched.add(context["category_id"])
            category_id = None if context["context"] == SYSTEM else context["category_id"]
            for cohort in self.reader.search_cohorts(query, category_id=category_id, includes="self"):
                if int(cohort["id"]) in remaining:
                    remaining.discard(int(cohort["id"]))
                    placed[int(cohort["id"])] = context

        search(system_context())
        for context in expected:
            if context["category_id"]:
                search(context)
        if remaining:
            for category in sorted(self.categories.all() or [], key=lambda c: int(c["id"])):
                search(context_from_category(category))
        for cohort_id in remaining:
            placed[cohort_id] = category_context()
        return placed


def duplicates_text(idnumber, cohorts):
    return "the site holds %d cohorts with idnumber %r (ids %s)" % (
        len(cohorts), idnumber, ", ".join(str(i) for i in sorted(int(c["id"]) for c in cohorts)))


class UserRef(namedtuple("UserRef", ["id", "username", "email", "idnumber"])):
    """A site user as a lookup answered it. Keys the token may not see are None (the site leaves
    them out when its user lacks moodle/user:viewalldetails)."""

    __slots__ = ()

    @classmethod
    def from_site(cls, record):
        return cls(int(record["id"]), record.get("username"), record.get("email"), record.get("idnumber"))

    def field(self, name):
        """The user's value of a user_field (id, username, email, idnumber); None when the site did not say."""
        return self.id if name == "id" else getattr(self, name)
