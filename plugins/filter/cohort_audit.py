# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the cohort_bootstrap role and the tenant playbooks.

They turn the registered results of pluto_cohort / pluto_cohort_member runs into a per-tenant
summary, merge the summaries of many tenants into one audit report, render it as Markdown,
pick the cohorts that prune deletes, and read the membership CSV. No site access; only
cohort_members_csv_file reads a file (on the controller).
Every list they return is sorted, so a report is the same for the same drift.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import codecs
import csv
import fnmatch
import io
import json
import os
import re

from ansible.errors import AnsibleFilterError

from collections.abc import Mapping

CSV_HEADER = ("cohort_idnumber", "username")
# The fields of a cohort (as pluto_cohort and pluto_cohort_info return it) that a report compares.
COHORT_FIELDS = ("name", "idnumber", "description", "description_format", "visible", "theme", "custom_fields",
                 "context", "category_id", "category_idnumber")
MAX_CSV_ERRORS = 20


def _results(registered):
    """The per-item results of a registered loop (or the one result of a task without a loop)."""
    if not isinstance(registered, Mapping):
        return []
    if "results" in registered:
        return [r for r in registered.get("results") or [] if isinstance(r, Mapping)]
    if registered.get("skipped") and "item" not in registered:
        return []
    return [registered]


def _name_of(user):
    if isinstance(user, Mapping):
        for key in ("username", "value", "email", "idnumber", "id"):
            if user.get(key) not in (None, ""):
                return str(user[key])
        return json.dumps(user, sort_keys=True)
    return str(user)


def _names(users):
    return sorted(set(_name_of(u) for u in users or []))


def _display(value):
    """A field value as a report shows it: JSON, so that "" and null and 1 and "1" differ."""
    return json.dumps(value, sort_keys=True)


def _desired(result):
    item = result.get("item")
    if isinstance(item, Mapping) and isinstance(item.get("item"), Mapping):
        item = item["item"]  # a loop over the results of an earlier loop
    return item if isinstance(item, Mapping) else {}


def _field_changes(before, after):
    """{field: {old, new}} for the fields that differ (after holds every field: pluto_cohort returns the whole cohort)."""
    changes = {}
    for key in COHORT_FIELDS:
        if key in after and before.get(key) != after.get(key):
            changes[key] = {"old": before.get(key), "new": after.get(key)}
    return changes


def cohort_duplicates(idnumbers):
    """The values that appear more than once, sorted."""
    seen, twice = set(), set()
    for value in idnumbers or []:
        (twice if value in seen else seen).add(value)
    return sorted(twice)


def cohort_prune_candidates(site_cohorts, wanted, keep=None):
    """The site's cohorts that are neither wanted (exact idnumbers) nor kept (idnumbers or shell patterns)."""
    wanted = set(wanted or [])
    patterns = list(keep or [])
    doomed = []
    for cohort in site_cohorts or []:
        idnumber = cohort.get("idnumber") or ""
        if idnumber in wanted or any(fnmatch.fnmatchcase(idnumber, p) for p in patterns):
            continue
        doomed.append({"id": cohort.get("id"), "idnumber": idnumber, "name": cohort.get("name")})
    return sorted(doomed, key=lambda c: (c["idnumber"], c["id"] or 0))


def cohort_drift(site_before, cohort_results, member_results=None, prune_results=None):
    """What one tenant's run changed (or, in check mode, would change).

    site_before: the tenant's cohorts as pluto_cohort_info read them before the run (at least the
    wanted ones); cohort_results: the registered loop of pluto_cohort over the wanted cohorts (each
    returns the cohort as it is, or would be, after the task); member_results: the loop of
    pluto_cohort_member over cohort_results (skipped for a cohort that check mode would create: its
    members then come from its list); prune_results: the loop of pluto_cohort state=absent over the
    cohorts prune deletes.
    """
    before_by_idnumber = dict((c.get("idnumber"), c) for c in site_before or [])
    created, changed, deleted, members = [], [], [], []
    failed = []
    for result in _results(cohort_results):
        desired = _desired(result)
        idnumber = desired.get("idnumber") or ""
        if result.get("failed"):
            failed.append("%s: %s" % (idnumber or "?", result.get("msg", "failed")))
            continue
        if result.get("skipped") or not result.get("changed"):
            continue
        before = before_by_idnumber.get(idnumber)
        after = result.get("cohort") or {}
        if desired.get("state", "present") == "absent":
            deleted.append({"idnumber": idnumber, "name": (before or {}).get("name"), "pruned": False})
        elif before is None:
            created.append({"idnumber": idnumber, "name": after.get("name", desired.get("name"))})
        else:
            changed.append({"idnumber": idnumber, "fields": _field_changes(before, after)})
    for result in _results(prune_results):
        doomed = _desired(result)
        if result.get("failed"):
            failed.append("%s: %s" % (doomed.get("idnumber", "?"), result.get("msg", "failed")))
        elif result.get("changed"):
            deleted.append({"idnumber": doomed.get("idnumber") or "", "name": doomed.get("name"), "pruned": True})
    for result in _results(member_results):
        desired = _desired(result)
        idnumber = desired.get("idnumber") or (result.get("cohort") or {}).get("idnumber") or ""
        if result.get("failed"):
            failed.append("%s members: %s" % (idnumber, result.get("msg", "failed")))
            continue
        if result.get("skipped"):
            if idnumber not in before_by_idnumber and desired.get("members") and desired.get("state", "present") == "present":
                members.append({"idnumber": idnumber, "added": _names(desired["members"]), "removed": []})
            continue
        added, removed = _names(result.get("added")), _names(result.get("removed"))
        if added or removed:
            members.append({"idnumber": idnumber, "added": added, "removed": removed})
    summary = {
        "created": sorted(created, key=lambda c: c["idnumber"]),
        "changed": sorted(changed, key=lambda c: c["idnumber"]),
        "deleted": sorted(deleted, key=lambda c: (c["idnumber"], c["pruned"])),
        "members": sorted(members, key=lambda c: c["idnumber"]),
    }
    summary["clean"] = not any(summary.values())
    if failed:
        summary["failed"] = sorted(failed)
        summary["clean"] = False
    return summary


def cohort_audit_report(tenants):
    """One report for many tenants: tenants is a list of {name, url, summary} or {name, url, error}."""
    report = {"tenants": {}, "totals": {"tenants": 0, "clean": 0, "drift": 0, "error": 0}}
    for tenant in tenants or []:
        name = str(tenant.get("name"))
        entry = {"url": tenant.get("url") or ""}
        summary = tenant.get("summary") or {}
        if tenant.get("error") or summary.get("failed"):
            entry["status"] = "error"
            entry["error"] = "; ".join([tenant["error"]] if tenant.get("error") else summary.get("failed"))
        else:
            entry["status"] = "clean" if summary.get("clean") else "drift"
        for key in ("created", "changed", "deleted", "members"):
            entry[key] = list(summary.get(key) or [])
        report["tenants"][name] = entry
        report["totals"]["tenants"] += 1
        report["totals"][entry["status"]] += 1
    return report


# Markdown that renders exactly the text given: names, idnumbers and values come from users and sites.
MD_SPECIAL = frozenset("\\`*_[]<>|~&")
# A name that begins a line must not start a heading, a list item or a numbered list item.
MD_LINE_START = re.compile(r"^(#|[-+]|\d+[.)])")
# Member names shown per direction, and the width their lines are wrapped at.
MD_NAMES_SHOWN = 50
MD_WIDTH = 100


def _md(text):
    """Plain Markdown text for one line (a table cell too): specials escaped, line breaks as spaces."""
    text = " ".join(str(text).splitlines())
    escaped = "".join("\\" + char if char in MD_SPECIAL else char for char in text)
    # "\\-" and "1\\." render as "-" and "1." anywhere, and never start a list or heading at a line start.
    return MD_LINE_START.sub(lambda match: match.group(0)[:-1] + "\\" + match.group(0)[-1], escaped)


def _code(text):
    """text as a code span, whatever backticks it holds; a blank idnumber is said to be blank."""
    text = " ".join(str(text).splitlines())
    if not text.strip():
        return "(no idnumber)"
    runs = [len(run) for run in re.findall("`+", text)]
    if not runs:
        return "`%s`" % text
    fence = "`" * (max(runs) + 1)
    return "%s %s %s" % (fence, text, fence)


def _count(number):
    return "{:,}".format(number)


def _name_lines(label, names, indent="  "):
    """A sub-item listing names: escaped, at most MD_NAMES_SHOWN then "and N more", wrapped at MD_WIDTH."""
    shown = [_md(name) for name in names[:MD_NAMES_SHOWN]]
    words = ["%s," % name for name in shown[:-1]] + shown[-1:]
    if len(names) > MD_NAMES_SHOWN:
        words[-1] += ","
        words.extend(["and", "%s" % _count(len(names) - MD_NAMES_SHOWN), "more"])
    lines, line = [], "%s- %s:" % (indent, label)
    for word in words:
        if len(line) + 1 + len(word) > MD_WIDTH and not line.endswith(":"):
            lines.append(line)
            line = indent + "  " + word
        else:
            line += " " + word
    lines.append(line)
    return lines


def cohort_audit_markdown(report, title="Cohort audit"):
    """The report as Markdown: a table of tenants, then the drift of each tenant that has some."""
    totals = report.get("totals") or {}
    lines = ["# %s" % _md(title), "",
             "%d tenant(s): %d clean, %d with drift, %d failed. Check mode: nothing was written to any site."
             % (totals.get("tenants", 0), totals.get("clean", 0), totals.get("drift", 0), totals.get("error", 0)), "",
             "| Tenant | Status | Create | Change | Delete | Member changes |",
             "|---|---|---|---|---|---|"]
    tenants = report.get("tenants") or {}
    for name in sorted(tenants):
        entry = tenants[name]
        member_count = sum(len(m["added"]) + len(m["removed"]) for m in entry.get("members") or [])
        lines.append("| %s | %s | %d | %d | %d | %d |" % (
            _md(name), entry["status"], len(entry.get("created") or []), len(entry.get("changed") or []),
            len(entry.get("deleted") or []), member_count))
    for name in sorted(tenants):
        entry = tenants[name]
        lines.extend(["", "## %s" % _md(name), ""])
        if entry.get("url"):
            lines.extend(["Site: %s" % _md(entry["url"]), ""])
        if entry["status"] == "clean":
            lines.append("Clean: the site matches the desired state.")
            continue
        if entry["status"] == "error":
            lines.append("Error: %s" % _md(entry.get("error")))
        for cohort in entry.get("created") or []:
            lines.append("- would create %s (%s)" % (_code(cohort["idnumber"]), _md(cohort.get("name"))))
        for cohort in entry.get("changed") or []:
            fields = cohort.get("fields") or {}
            if not fields:
                lines.append("- would change %s" % _code(cohort["idnumber"]))
            for field in sorted(fields):
                lines.append("- would change %s %s: %s → %s" % (
                    _code(cohort["idnumber"]), field, _md(_display(fields[field]["old"])), _md(_display(fields[field]["new"]))))
        for cohort in entry.get("deleted") or []:
            lines.append("- would delete %s (%s)" % (_code(cohort["idnumber"]), _md(cohort.get("name"))))
        for cohort in entry.get("members") or []:
            added, removed = list(cohort["added"]), list(cohort["removed"])
            counts = ["%s to add" % _count(len(added))] if added else []
            counts += ["%s to remove" % _count(len(removed))] if removed else []
            lines.append("- members of %s: %s" % (_code(cohort["idnumber"]), ", ".join(counts)))
            if added:
                lines.extend(_name_lines("to add", added))
            if removed:
                lines.extend(_name_lines("to remove", removed))
    return "\n".join(lines) + "\n"


def _csv_text_problem(text):
    """Why text cannot be the CSV, or None: invalid bytes that a UTF-8 decoding escaped to lone surrogates."""
    for number, line in enumerate(text.split("\n"), start=1):
        for column, char in enumerate(line, start=1):
            if "\udc80" <= char <= "\udcff":
                return ("it is not UTF-8 text: byte 0x%02x at line %d, column %d is not valid UTF-8 (save it as "
                        "\"CSV UTF-8\", or convert it, for example with iconv -f latin1 -t utf-8)"
                        % (ord(char) - 0xdc00, number, column))
    return None


def cohort_members_csv(text, source="CSV"):
    """{cohort idnumber: sorted usernames} from `cohort_idnumber,username` rows under a header line.

    Fails naming every bad line (up to MAX_CSV_ERRORS): wrong header, wrong field count, empty field.
    A leading byte order mark (spreadsheet programs write one for "CSV UTF-8") is dropped.
    """
    if text is None:
        raise AnsibleFilterError("%s: no content" % source)
    text = str(text)
    if text.startswith("\ufeff"):
        text = text[1:]
    problem = _csv_text_problem(text)
    if problem:
        raise AnsibleFilterError("%s cannot be read: %s" % (source, problem))
    rows = list(csv.reader(io.StringIO(text)))
    errors = []
    header = [h.strip() for h in rows[0]] if rows else []
    if tuple(header) != CSV_HEADER:
        errors.append("line 1: the header must be %r, found %r" % (",".join(CSV_HEADER), ",".join(header)))
    wanted = {}
    for number, row in enumerate(rows[1:], start=2):
        if not row or all(not field.strip() for field in row):
            continue  # blank line
        if len(row) != 2:
            errors.append("line %d: expected 2 fields (cohort_idnumber,username), found %d: %r"
                          % (number, len(row), ",".join(row)))
            continue
        idnumber, username = row[0].strip(), row[1].strip()
        if not idnumber or not username:
            errors.append("line %d: empty %s: %r" % (number, "cohort_idnumber" if not idnumber else "username", ",".join(row)))
            continue
        wanted.setdefault(idnumber, set()).add(username)
    if errors:
        more = len(errors) - MAX_CSV_ERRORS
        shown = errors[:MAX_CSV_ERRORS] + (["... and %d more bad lines" % more] if more > 0 else [])
        raise AnsibleFilterError("%s is malformed: %s" % (source, "; ".join(shown)))
    return dict((idnumber, sorted(users)) for idnumber, users in sorted(wanted.items()))


def _decode_csv_bytes(data, source):
    """The text of a CSV file: UTF-8, with or without a byte order mark; anything else fails naming the file."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise AnsibleFilterError("%s cannot be read: it is UTF-16 text (what spreadsheet programs write for "
                                 "\"Unicode text\"); save it as \"CSV UTF-8\"" % source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Decode again keeping the bad bytes, so that the message can say where the first one is.
        return data.decode("utf-8-sig", "surrogateescape")


def cohort_members_csv_file(path):
    """cohort_members_csv of the file at path; a relative path is resolved against the current directory.

    Filters run in the ansible-playbook process (never on a managed host), so the current directory is
    the one ansible-playbook was started in, which is where a user's relative path points.
    """
    if path is None or not str(path).strip():
        raise AnsibleFilterError("no CSV file given: the path is empty")
    given = str(path)
    resolved = os.path.abspath(os.path.expanduser(given))
    where = given if given == resolved else "%s (%s)" % (given, resolved)
    try:
        with open(resolved, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as error:
        reason = error.strerror or str(error)
        hint = ""
        if not os.path.isabs(os.path.expanduser(given)):
            hint = "; a relative path is resolved against the directory ansible-playbook runs in, %s" % os.getcwd()
        raise AnsibleFilterError("cannot read the CSV file %s: %s%s" % (where, reason.lower(), hint))
    return cohort_members_csv(_decode_csv_bytes(data, given), given)


def cohort_tenant_summary(result):
    """The per-tenant summary (the shape cohort_drift returns) from one pluto.lms.pluto_cohorts result.

    Deleted cohorts carry their id and name too: a cohort without idnumber is named by them.
    """
    created, changed, deleted, members = [], [], [], []
    entries = result.get("cohorts") if isinstance(result, Mapping) else None
    for entry in entries or []:
        idnumber = entry.get("idnumber") or ""
        action = entry.get("action")
        if action == "created":
            created.append({"idnumber": idnumber, "name": entry.get("name")})
        elif action == "updated":
            changed.append({"idnumber": idnumber, "fields": dict(entry.get("fields") or {})})
        elif action == "deleted":
            deleted.append({"idnumber": idnumber, "name": entry.get("name"), "id": entry.get("id"),
                            "pruned": bool(entry.get("pruned"))})
        if entry.get("added") or entry.get("removed"):
            members.append({"idnumber": idnumber, "added": _names(entry.get("added")), "removed": _names(entry.get("removed"))})
    summary = {
        "created": sorted(created, key=lambda c: c["idnumber"]),
        "changed": sorted(changed, key=lambda c: c["idnumber"]),
        "deleted": sorted(deleted, key=lambda c: (c["idnumber"], c["id"] or 0)),
        "members": sorted(members, key=lambda c: c["idnumber"]),
    }
    summary["clean"] = not any(summary.values())
    if isinstance(result, Mapping) and result.get("failed"):
        summary["failed"] = [str(result.get("msg", "failed"))]
        summary["clean"] = False
    return summary


class FilterModule(object):
    def filters(self):
        return {
            "cohort_duplicates": cohort_duplicates,
            "cohort_prune_candidates": cohort_prune_candidates,
            "cohort_drift": cohort_drift,
            "cohort_tenant_summary": cohort_tenant_summary,
            "cohort_audit_report": cohort_audit_report,
            "cohort_audit_markdown": cohort_audit_markdown,
            "cohort_members_csv": cohort_members_csv,
            "cohort_members_csv_file": cohort_members_csv_file,
        }
