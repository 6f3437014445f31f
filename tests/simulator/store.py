"""The simulated site's state in SQLite: categories, users, cohorts, members and id sequences.

Ids come from sequences that, like PostgreSQL's, are not given back when a
transaction rolls back (the recorded site shows those gaps). Everything runs on one
connection guarded by a lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import threading
import time

from .collation import DB_KINDS, POSTGRES, key_function, mariadb_key

SYSTEM_CONTEXT = 1
FIRST_CATEGORY_CONTEXT = 10

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS category (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, idnumber TEXT, description TEXT NOT NULL DEFAULT '',
    descriptionformat INTEGER NOT NULL DEFAULT 1, parent INTEGER NOT NULL DEFAULT 0,
    sortorder INTEGER NOT NULL DEFAULT 0, coursecount INTEGER NOT NULL DEFAULT 0,
    visible INTEGER NOT NULL DEFAULT 1, visibleold INTEGER NOT NULL DEFAULT 1,
    timemodified INTEGER NOT NULL DEFAULT 0, depth INTEGER NOT NULL DEFAULT 1, path TEXT NOT NULL DEFAULT '',
    theme TEXT NOT NULL DEFAULT '', contextid INTEGER NOT NULL UNIQUE);
CREATE INDEX IF NOT EXISTS category_idnumber ON category (idnumber);
CREATE INDEX IF NOT EXISTS category_parent ON category (parent);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, username TEXT NOT NULL, email TEXT NOT NULL DEFAULT '',
    idnumber TEXT NOT NULL DEFAULT '', firstname TEXT NOT NULL DEFAULT '', lastname TEXT NOT NULL DEFAULT '',
    suspended INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0, auth TEXT NOT NULL DEFAULT 'manual',
    confirmed INTEGER NOT NULL DEFAULT 1, lang TEXT NOT NULL DEFAULT 'en', theme TEXT NOT NULL DEFAULT '',
    timezone TEXT NOT NULL DEFAULT '99', mailformat INTEGER NOT NULL DEFAULT 1,
    department TEXT NOT NULL DEFAULT '', institution TEXT NOT NULL DEFAULT '', city TEXT NOT NULL DEFAULT '',
    country TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '', mnethostid INTEGER NOT NULL DEFAULT 1,
    timecreated INTEGER NOT NULL DEFAULT 0, timemodified INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS users_username ON users (username);
CREATE INDEX IF NOT EXISTS users_email ON users (email);
CREATE INDEX IF NOT EXISTS users_idnumber ON users (idnumber);
CREATE TABLE IF NOT EXISTS cohort (
    id INTEGER PRIMARY KEY, contextid INTEGER NOT NULL, name TEXT NOT NULL, idnumber TEXT,
    description TEXT NOT NULL DEFAULT '', descriptionformat INTEGER NOT NULL DEFAULT 1,
    visible INTEGER NOT NULL DEFAULT 1, component TEXT NOT NULL DEFAULT '', theme TEXT NOT NULL DEFAULT '',
    timecreated INTEGER NOT NULL DEFAULT 0, timemodified INTEGER NOT NULL DEFAULT 0, heap INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS cohort_idnumber ON cohort (idnumber);
CREATE INDEX IF NOT EXISTS cohort_context ON cohort (contextid);
CREATE TABLE IF NOT EXISTS cohort_members (
    cohortid INTEGER NOT NULL, userid INTEGER NOT NULL, timeadded INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (cohortid, userid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cohort_members_user ON cohort_members (userid);
"""

# MariaDB compares through its collation; these indexes keep those lookups fast.
MARIADB_INDEXES = """
CREATE INDEX IF NOT EXISTS users_username_ci ON users (mariadb_key(username));
CREATE INDEX IF NOT EXISTS users_email_ci ON users (mariadb_key(email));
CREATE INDEX IF NOT EXISTS users_idnumber_ci ON users (mariadb_key(idnumber));
CREATE INDEX IF NOT EXISTS cohort_idnumber_ci ON cohort (mariadb_key(idnumber));
CREATE INDEX IF NOT EXISTS category_idnumber_ci ON category (mariadb_key(idnumber));
"""

SEQUENCES = ('user', 'cohort', 'category', 'context', 'heap')
CHUNK = 500


def chunks(items, size=CHUNK):
    """Split a list into pieces small enough for SQLite's parameter limit."""
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def deleted_username(email, taken):
    """What Moodle's delete_user() makes of a username: email plus a timestamp, kept unique."""
    stamp = int(time.time())
    while True:
        candidate = '%s.%d' % (email, stamp)
        if candidate not in taken:
            return candidate
        stamp += 1


class Store:
    """SQLite state with PostgreSQL-like sequences and all-or-nothing transactions.

    ``db`` is the database kind the site runs on (``postgres`` or ``mariadb``): it decides how
    text columns compare (:mod:`collation`). Every SQL statement runs under ``lock``.
    """

    def __init__(self, path=':memory:', db=POSTGRES):
        if db not in DB_KINDS:
            raise ValueError('unknown database kind %r (kinds: %s)' % (db, ', '.join(DB_KINDS)))
        self.path = path or ':memory:'
        self.db = db
        self.text_key = key_function(db)
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.create_function('mariadb_key', 1, mariadb_key, deterministic=True)
        self.lock = threading.RLock()
        if self.path != ':memory:':
            self.conn.execute('PRAGMA journal_mode=WAL')
            self.conn.execute('PRAGMA synchronous=NORMAL')
        self.conn.executescript(SCHEMA)
        if db != POSTGRES:
            self.conn.executescript(MARIADB_INDEXES)
        self.seq = {}
        rows = self.conn.execute("SELECT name, value FROM meta WHERE name LIKE 'seq:%'").fetchall()
        for row in rows:
            self.seq[row['name'][4:]] = row['value']
        if 'user' not in self.seq:
            self._install()

    # --- text comparison -------------------------------------------------------------
    def equal_sql(self, column):
        """``column = ?`` under the site's collation; pass the value through :meth:`text_key`."""
        if self.db == POSTGRES:
            return '%s = ?' % column
        return 'mariadb_key(%s) = ?' % column

    def in_sql(self, column):
        """``column IN (%s)`` under the site's collation (values through :meth:`text_key`)."""
        if self.db == POSTGRES:
            return '%s IN (%%s)' % column
        return 'mariadb_key(%s) IN (%%s)' % column

    def text_equal(self, left, right):
        """Do two texts compare equal in the site's database?"""
        return self.text_key(left) == self.text_key(right)

    # --- sequences and transactions -------------------------------------------------
    def nextval(self, name):
        """Next id of a sequence; never handed out twice, even after a rollback."""
        self.seq[name] = self.seq.get(name, 0) + 1
        return self.seq[name]

    def _save_seq(self):
        self.conn.executemany('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)',
                              [('seq:' + name, value) for name, value in self.seq.items()])

    @contextlib.contextmanager
    def transaction(self):
        """One all-or-nothing unit of work (the lock is held throughout)."""
        with self.lock:
            self.conn.execute('BEGIN')
            try:
                yield self.conn
            except BaseException:
                self.conn.execute('ROLLBACK')
                self.conn.execute('BEGIN')
                self._save_seq()
                self.conn.execute('COMMIT')
                raise
            self._save_seq()
            self.conn.execute('COMMIT')

    def close(self):
        """Close the connection."""
        with self.lock:
            self.conn.close()

    # --- installation ----------------------------------------------------------------
    def _install(self):
        now = int(time.time())
        self.seq = {name: 0 for name in SEQUENCES}
        self.seq['context'] = FIRST_CATEGORY_CONTEXT - 1
        with self.transaction() as conn:
            self.insert_category(conn, 'Category 1', None, None, now)
            for username, first, last, email in (('guest', 'Guest user', ' ', 'root@localhost'),
                                                 ('admin', 'Admin', 'User', 'admin@example.com')):
                self.insert_user(conn, {'username': username, 'firstname': first, 'lastname': last,
                                        'email': email}, now)

    # --- rows ------------------------------------------------------------------------
    def insert_category(self, conn, name, idnumber, parent, now, description='', visible=1, theme=''):
        """Add a course category with its context; ``parent`` is a category row or None."""
        catid = self.nextval('category')
        contextid = self.nextval('context')
        path = (parent['path'] if parent else '') + '/%d' % catid
        depth = (parent['depth'] + 1) if parent else 1
        conn.execute(
            'INSERT INTO category (id, name, idnumber, description, descriptionformat, parent, sortorder, visible,'
            ' visibleold, timemodified, depth, path, theme, contextid) VALUES (?,?,?,?,1,?,?,?,?,?,?,?,?,?)',
            (catid, name, idnumber, description, parent['id'] if parent else 0, catid * 10000, visible, visible,
             now, depth, path, theme, contextid))
        return catid

    def insert_user(self, conn, fields, now):
        """Add a user (already validated); returns the new id."""
        userid = self.nextval('user')
        row = {'id': userid, 'username': fields['username'], 'email': fields.get('email', ''),
               'idnumber': fields.get('idnumber') or '', 'firstname': fields.get('firstname', ''),
               'lastname': fields.get('lastname', ''), 'suspended': int(bool(fields.get('suspended'))),
               'auth': fields.get('auth') or 'manual', 'lang': fields.get('lang') or 'en',
               'theme': fields.get('theme') or '', 'timezone': fields.get('timezone') or '99',
               'mailformat': int(fields.get('mailformat', 1)), 'department': fields.get('department') or '',
               'institution': fields.get('institution') or '', 'city': fields.get('city') or '',
               'country': fields.get('country') or '', 'description': fields.get('description') or '',
               'timecreated': now, 'timemodified': now}
        columns = ', '.join(row)
        conn.execute('INSERT INTO users (%s) VALUES (%s)' % (columns, ', '.join('?' * len(row))), tuple(row.values()))
        return userid

    def delete_user(self, conn, row):
        """Moodle's delete_user(): keep the row, scramble the identity, drop memberships."""
        rows = conn.execute('SELECT username FROM users WHERE username LIKE ?', (row['email'] + '.%',))
        taken = {found['username'] for found in rows}
        conn.execute('UPDATE users SET deleted = 1, username = ?, email = ?, idnumber = ?, timemodified = ?'
                     ' WHERE id = ?', (deleted_username(row['email'], taken),
                                       hashlib.md5(row['username'].encode('utf-8')).hexdigest(), '',
                                       int(time.time()), row['id']))
        conn.execute('DELETE FROM cohort_members WHERE userid = ?', (row['id'],))

    # --- contexts --------------------------------------------------------------------
    def context_of_category(self, catid):
        """Context id of a category (or None)."""
        row = self.conn.execute('SELECT contextid FROM category WHERE id = ?', (catid,)).fetchone()
        return row['contextid'] if row else None

    def context_info(self, contextid):
        """``('system', 0)``, ``('coursecat', category row)`` or None."""
        if contextid == SYSTEM_CONTEXT:
            return ('system', 0)
        row = self.conn.execute('SELECT * FROM category WHERE contextid = ?', (contextid,)).fetchone()
        return ('coursecat', row) if row else None

    def parent_contexts(self, contextid):
        """Context ids above a context, nearest first (system last)."""
        info = self.context_info(contextid)
        if not info or info[0] == 'system':
            return []
        ids = [int(part) for part in info[1]['path'].strip('/').split('/')[:-1]]
        result = []
        for catid in reversed(ids):
            ctx = self.context_of_category(catid)
            if ctx:
                result.append(ctx)
        result.append(SYSTEM_CONTEXT)
        return result

    # --- seeding ---------------------------------------------------------------------
    def ensure_user(self, username, firstname, lastname, email):
        """The site user behind a token; created once, found again after a restart."""
        row = self.conn.execute('SELECT id FROM users WHERE username = ? AND deleted = 0', (username,)).fetchone()
        if row:
            return row['id']
        with self.transaction() as conn:
            return self.insert_user(conn, {'username': username, 'firstname': firstname, 'lastname': lastname,
                                           'email': email}, int(time.time()))

    def seed_generated_users(self, count):
        """Users u00001..uNNNNN (email uNNNNN@example.com, idnumber EMPNNNNN), skipping existing ones."""
        if count <= 0:
            return 0
        width = max(5, len(str(count)))
        wanted = ['u%0*d' % (width, number) for number in range(1, count + 1)]
        existing = set()
        for part in chunks(wanted):
            rows = self.conn.execute('SELECT username FROM users WHERE username IN (%s)' % ','.join('?' * len(part)),
                                     part).fetchall()
            existing.update(row['username'] for row in rows)
        now = int(time.time())
        rows = []
        for number, username in enumerate(wanted, 1):
            if username in existing:
                continue
            suffix = username[1:]
            rows.append((self.nextval('user'), username, username + '@example.com', 'EMP' + suffix,
                         'First%d' % number, 'Last%d' % number, now, now))
        with self.transaction() as conn:
            conn.executemany('INSERT INTO users (id, username, email, idnumber, firstname, lastname, timecreated,'
                             ' timemodified) VALUES (?,?,?,?,?,?,?,?)', rows)
        return len(rows)

    def seed(self, data):
        """Apply a seed document (categories, users, cohorts); what already exists is left alone."""
        now = int(time.time())
        with self.transaction() as conn:
            for item in data.get('categories') or []:
                self._seed_category(conn, item, now)
            for item in data.get('users') or []:
                self._seed_user(conn, item, now)
            for item in data.get('cohorts') or []:
                self._seed_cohort(conn, item, now)

    def _category_by_idnumber(self, conn, idnumber):
        return conn.execute('SELECT * FROM category WHERE idnumber = ? ORDER BY id LIMIT 1', (idnumber,)).fetchone()

    def _seed_category(self, conn, item, now):
        idnumber = item.get('idnumber')
        parent = None
        if item.get('parent') not in (None, ''):
            parent = self._category_by_idnumber(conn, str(item['parent']))
            if parent is None:
                raise ValueError('seed: parent category %r not found' % item['parent'])
        if idnumber not in (None, ''):
            if self._category_by_idnumber(conn, str(idnumber)):
                return
        else:
            found = conn.execute('SELECT id FROM category WHERE name = ? AND parent = ?',
                                 (item['name'], parent['id'] if parent else 0)).fetchone()
            if found:
                return
        self.insert_category(conn, item['name'], None if idnumber in (None, '') else str(idnumber), parent, now,
                             description=item.get('description') or '', visible=int(item.get('visible', 1)),
                             theme=item.get('theme') or '')

    def _seed_user(self, conn, item, now):
        username = str(item['username'])
        if conn.execute('SELECT 1 FROM users WHERE username = ?', (username,)).fetchone():
            return
        if item.get('deleted'):
            scrambled = hashlib.md5(username.encode('utf-8')).hexdigest()
            if conn.execute('SELECT 1 FROM users WHERE deleted = 1 AND email = ?', (scrambled,)).fetchone():
                return
        fields = dict(item)
        fields['username'] = username
        fields.setdefault('email', username + '@example.com')
        userid = self.insert_user(conn, fields, now)
        if item.get('deleted'):
            row = conn.execute('SELECT * FROM users WHERE id = ?', (userid,)).fetchone()
            self.delete_user(conn, row)

    def _seed_cohort(self, conn, item, now):
        idnumber = item.get('idnumber')
        if item.get('category') not in (None, ''):
            category = self._category_by_idnumber(conn, str(item['category']))
            if category is None:
                raise ValueError('seed: category %r not found' % item['category'])
            contextid = category['contextid']
        else:
            contextid = SYSTEM_CONTEXT
        if idnumber is not None:
            found = conn.execute('SELECT 1 FROM cohort WHERE idnumber = ?', (str(idnumber),)).fetchone()
        else:
            found = conn.execute('SELECT 1 FROM cohort WHERE name = ? AND contextid = ?',
                                 (item['name'], contextid)).fetchone()
        if found:
            return
        cohortid = self.nextval('cohort')
        conn.execute('INSERT INTO cohort (id, contextid, name, idnumber, description, descriptionformat, visible,'
                     ' component, theme, timecreated, timemodified, heap) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)',
                     (cohortid, contextid, str(item['name']), None if idnumber is None else str(idnumber),
                      item.get('description') or '', int(item.get('descriptionformat', 1)),
                      int(item.get('visible', 1)), item.get('component') or '', item.get('theme') or '',
                      now, now, self.nextval('heap')))
        usernames = [str(name) for name in item.get('members') or []]
        userids = []
        for part in chunks(usernames):
            rows = conn.execute('SELECT id FROM users WHERE deleted = 0 AND username IN (%s)'
                                % ','.join('?' * len(part)), part).fetchall()
            userids.extend(row['id'] for row in rows)
        conn.executemany('INSERT OR IGNORE INTO cohort_members (cohortid, userid, timeadded) VALUES (?,?,?)',
                         [(cohortid, userid, now) for userid in userids])

    # --- inspection ------------------------------------------------------------------
    def dump(self, parts=None):
        """Everything tests may want to assert on, as plain data (``parts``: only these keys)."""
        wanted = set(parts or ('categories', 'users', 'cohorts', 'sequences'))
        with self.lock:
            conn = self.conn
            categories = []
            if 'categories' in wanted:
                categories = [{'id': r['id'], 'name': r['name'], 'idnumber': r['idnumber'], 'parent': r['parent'],
                               'contextid': r['contextid'], 'path': r['path'], 'visible': r['visible']}
                              for r in conn.execute('SELECT * FROM category ORDER BY id')]
            users = []
            if 'users' in wanted:
                users = [{'id': r['id'], 'username': r['username'], 'email': r['email'], 'idnumber': r['idnumber'],
                          'firstname': r['firstname'], 'lastname': r['lastname'],
                          'suspended': bool(r['suspended']), 'deleted': bool(r['deleted'])}
                         for r in conn.execute('SELECT * FROM users ORDER BY id')]
            cohorts = []
            if 'cohorts' in wanted:
                members = {}
                for row in conn.execute('SELECT cohortid, userid FROM cohort_members ORDER BY cohortid, userid'):
                    members.setdefault(row['cohortid'], []).append(row['userid'])
                cohorts = [{'id': r['id'], 'name': r['name'], 'idnumber': r['idnumber'], 'contextid': r['contextid'],
                            'description': r['description'], 'descriptionformat': r['descriptionformat'],
                            'visible': bool(r['visible']), 'component': r['component'], 'theme': r['theme'],
                            'members': members.get(r['id'], [])}
                           for r in conn.execute('SELECT * FROM cohort ORDER BY id')]
            everything = {'categories': categories, 'users': users, 'cohorts': cohorts, 'sequences': dict(self.seq)}
            return {key: value for key, value in everything.items() if key in wanted}
