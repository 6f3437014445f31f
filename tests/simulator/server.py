"""The Pluto web-service simulator: an HTTP server on loopback that answers like the real site.

``POST /webservice/rest/server.php`` behaves like Moodle 4.5's REST server (PHP request
parsing and ``max_input_vars``, tokens, services, capabilities, JSON/XML answers).
``/_sim/...`` endpoints let tests read the request log, inject faults and inspect the state.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import queue
import random
import signal
import socket
import ssl
import struct
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import errors, phpform
from .costs import CostModel
from .errors import ACCESS_DEBUGINFO, WSError
from .functions import (FUNCTIONS, OTHER_SITE_FUNCTIONS, REST_USE, ROLE_CAPABILITIES, USER_VIEW, WRITE_FUNCTIONS, Call,
                        Site)
from .output import (HTML_TYPE, JSON_TYPE, LOGIN_PAGE, NOT_FOUND_PAGE, UNAVAILABLE_PAGE, error_body, htmlspecialchars,
                     result_body)
from .params import clean_param, clean_return, php_empty, php_str, validate
from .collation import DB_KINDS, POSTGRES
from .store import Store

WS_PATH = '/webservice/rest/server.php'
ROLES = tuple(ROLE_CAPABILITIES)
FAULT_MODES = ('503', 'reset', 'timeout', 'html', 'xml', '404', 'lost', 'concurrent_create', 'concurrent_create_first',
               'concurrent_add')
# Race faults: another client's write overlaps this request; only the function named can get them.
RACE_FAULTS = {'concurrent_create': 'core_cohort_create_cohorts', 'concurrent_create_first': 'core_cohort_create_cohorts',
               'concurrent_add': 'core_cohort_add_cohort_members'}
SETTINGS = ('raw', 'fileurl', 'filter', 'lang', 'timezone')


class Token:
    """A web-service token: its role, the functions removed from its service, and its site user."""

    def __init__(self, value, role='manager', removed=()):
        self.value = value
        self.role = role
        self.removed = frozenset(removed)
        self.service = frozenset(name for name in FUNCTIONS if name not in self.removed)
        self.userid = None


def parse_token(spec):
    """``TOKEN[:ROLE[:-func1,-func2]]``."""
    parts = spec.split(':', 2)
    value = parts[0]
    if not value:
        raise ValueError('empty token in %r' % spec)
    role = parts[1] if len(parts) > 1 and parts[1] else 'manager'
    if role not in ROLES:
        raise ValueError('unknown role %r (roles: %s)' % (role, ', '.join(ROLES)))
    removed = []
    if len(parts) > 2:
        for name in parts[2].split(','):
            name = name.strip()
            if not name:
                continue
            if not name.startswith('-'):
                raise ValueError('function list entries must start with "-": %r' % name)
            removed.append(name[1:])
    return Token(value, role, removed)


def assign_token_users(store, tokens):
    """Give every token its site user: admin tokens act as the site admin, others as ws<role>[n]."""
    counts = {}
    for token in tokens:
        if token.userid is not None:
            continue
        if token.role == 'admin':
            token.userid = 2
            continue
        counts[token.role] = counts.get(token.role, 0) + 1
        username = 'ws' + token.role + ('' if counts[token.role] == 1 else str(counts[token.role]))
        token.userid = store.ensure_user(username, 'Web service', token.role, username + '@example.com')


class FaultPlan:
    """Deterministic faults set through ``POST /_sim/faults``."""

    def __init__(self, mode, functions=None, writes_only=False, skip=0, count=-1, userids=None):
        if mode not in FAULT_MODES:
            raise ValueError('unknown fault mode %r (modes: %s)' % (mode, ', '.join(FAULT_MODES)))
        if userids is not None and (mode != 'concurrent_add' or not isinstance(userids, list)
                                    or not all(isinstance(userid, int) for userid in userids)):
            raise ValueError('"userids" is a list of user ids, for mode concurrent_add only')
        self.mode = mode
        self.userids = userids
        self.functions = frozenset(functions) if functions else None
        self.writes_only = bool(writes_only)
        self.skip = int(skip)
        self.count = int(count)

    def take(self, wsfunction, write):
        """Does this request get the fault? (Counts skips and uses.)"""
        if self.functions is not None and wsfunction not in self.functions:
            return False
        if self.mode in RACE_FAULTS and wsfunction != RACE_FAULTS[self.mode]:
            return False
        if self.writes_only and not write:
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        if self.count == 0:
            return False
        if self.count > 0:
            self.count -= 1
        return True

    def describe(self):
        """The plan as JSON data."""
        plan = {'mode': self.mode, 'functions': sorted(self.functions) if self.functions else None,
                'writes_only': self.writes_only, 'skip': self.skip, 'count': self.count}
        if self.userids is not None:
            plan['userids'] = list(self.userids)
        return plan


class Simulator:
    """Site, tokens, request log and fault injection, independent of the HTTP plumbing."""

    def __init__(self, store, tokens, site, max_input_vars=5000, latency_ms=0, fail_rate=0.0, fail_mode='503',
                 fail_seed=None, timeout_fault_s=60.0):
        self.store = store
        self.site = site
        self.tokens = {token.value: token for token in tokens}
        self.max_input_vars = max_input_vars
        self.latency_ms = latency_ms
        self.fail_rate = fail_rate
        self.fail_mode = fail_mode
        self.fail_rng = random.Random(fail_seed)
        self.timeout_fault_s = timeout_fault_s
        self.stopping = threading.Event()
        self.log = []
        self.log_lock = threading.Lock()
        self.fault_plan = None
        site.races.stopping = self.stopping
        assign_token_users(store, tokens)

    # --- log and faults --------------------------------------------------------------
    def log_request(self, entry):
        """Record a web-service request (never its token)."""
        with self.log_lock:
            self.log.append(entry)

    def requests(self):
        """A copy of the request log."""
        with self.log_lock:
            return [dict(entry) for entry in self.log]

    def reset_log(self):
        """Forget logged requests."""
        with self.log_lock:
            self.log = []

    def set_faults(self, spec):
        """Install (or clear, with an empty spec) a deterministic fault plan."""
        with self.log_lock:
            if not spec:
                self.fault_plan = None
            else:
                self.fault_plan = FaultPlan(spec.get('mode'), spec.get('functions'), spec.get('writes_only', False),
                                            spec.get('skip', 0), spec.get('count', -1), spec.get('userids'))

    def pick_fault(self, wsfunction, write):
        """The fault for this request, if any: the plan first, then the random rate."""
        return self.pick_fault_spec(wsfunction, write).get('mode')

    def pick_fault_spec(self, wsfunction, write):
        """Like pick_fault, with the plan's details (``{}`` when no fault)."""
        with self.log_lock:
            if self.fault_plan is not None and self.fault_plan.take(wsfunction, write):
                return self.fault_plan.describe()
            if self.fail_rate > 0 and self.fail_rng.random() < self.fail_rate:
                return {'mode': self.fail_mode}
        return {}

    # --- the REST server -------------------------------------------------------------
    def handle(self, get, post, force_xml=False, fault=None):
        """Answer one web-service request: ``(status, content type, body, errorcode)``.

        ``fault`` is a race fault plan (``concurrent_create``/``concurrent_add``) for this request.
        """
        raw_setting = post.get('moodlewssettingraw', get.get('moodlewssettingraw', False))
        raw = not isinstance(raw_setting, dict) and bool(clean_param(raw_setting, 'bool'))
        for name in SETTINGS:
            get.pop('moodlewssetting' + name, None)
            post.pop('moodlewssetting' + name, None)
        variables = phpform.array_merge(get, post)
        restformat = variables.pop('moodlewsrestformat', None)
        if force_xml or restformat not in ('json', 'xml'):
            restformat = 'xml'
        token_value = variables.pop('wstoken', None)
        function_name = variables.pop('wsfunction', None)
        try:
            token = self.tokens.get(token_value) if isinstance(token_value, str) else None
            if token is None:
                raise errors.moodle_exception('invalidtoken')
            if REST_USE not in ROLE_CAPABILITIES[token.role]:
                raise errors.access_exception('You are not allowed to use the rest protocol '
                                              '(missing capability: webservice/rest:use)')
            if php_empty(function_name):
                raise errors.invalid_parameter('Missing function name')
            if not isinstance(function_name, str) or (function_name not in FUNCTIONS
                                                      and function_name not in OTHER_SITE_FUNCTIONS):
                raise errors.missing_record('external_functions', 'SELECT * FROM {external_functions} WHERE name = ?',
                                            [php_str(function_name) if isinstance(function_name, str) else 'Array'])
            if function_name not in token.service:
                raise errors.access_exception(ACCESS_DEBUGINFO.format(function_name))
            function = FUNCTIONS[function_name]
            call = Call(self.site, token.role, token.userid, raw, token.service,
                        fault=fault if fault and fault.get('mode') in RACE_FAULTS else None)
            if function.stepwise:
                params = validate(function.params, variables) if function.validate_first else variables
                result = clean_return(function.returns, function.handler(call, params))
            else:
                with self.store.transaction():
                    params = validate(function.params, variables) if function.validate_first else variables
                    result = clean_return(function.returns, function.handler(call, params))
            body, ctype = result_body(result, function.returns, restformat)
            return 200, ctype, body, None
        except WSError as error:
            body, ctype = error_body(error, restformat, self.site.debug, self.site.debug_in_message)
            return 200, ctype, body, error.errorcode


class Handler(BaseHTTPRequestHandler):
    """HTTP plumbing: routes, body reading, faults and answers."""

    protocol_version = 'HTTP/1.1'
    # Without TCP_NODELAY a kept-alive client waits ~40 ms (delayed ACK) for every answer.
    disable_nagle_algorithm = True
    server_version = 'Apache'
    sys_version = ''
    timeout = 300

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self):  # pylint: disable=invalid-name
        """GET."""
        self.dispatch()

    def do_POST(self):  # pylint: disable=invalid-name
        """POST."""
        self.dispatch()

    def do_PUT(self):  # pylint: disable=invalid-name
        """PUT."""
        self.dispatch()

    def do_DELETE(self):  # pylint: disable=invalid-name
        """DELETE."""
        self.dispatch()

    def do_PATCH(self):  # pylint: disable=invalid-name
        """PATCH."""
        self.dispatch()

    # --- plumbing ----------------------------------------------------------------------
    def read_body(self):
        """The request body (Content-Length or chunked)."""
        if 'chunked' in self.headers.get('Transfer-Encoding', '').lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b''.join(parts)
        length = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(length) if length > 0 else b''

    def send_text(self, status, text, ctype):
        """Send a complete answer."""
        data = text.encode('utf-8')
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(data)))
        if status >= 500:
            self.send_header('Connection', 'close')
            self.close_connection = True
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)

    def send_json(self, status, value):
        """Send a JSON answer (control endpoints)."""
        self.send_text(status, json.dumps(value), JSON_TYPE)

    def reset_connection(self):
        """Drop the connection without an answer (RST)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        except OSError:
            pass
        try:
            self.rfile.close()
        except OSError:
            pass
        self.rfile = io.BytesIO()
        self.wfile = io.BytesIO()
        try:
            self.connection.close()
        except OSError:
            pass

    def not_found_page(self, path):
        """The web server's own 404 page."""
        self.send_text(404, NOT_FOUND_PAGE.replace('{path}', htmlspecialchars(path)), HTML_TYPE)

    def dispatch(self):
        """Route a request."""
        split = urlsplit(self.path)
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        try:
            if split.path.startswith('/_sim/') or split.path == '/_sim':
                self.control(split.path, body, split.query)
            elif split.path == WS_PATH:
                self.webservice(split.query, body)
            else:
                self.not_found_page(split.path)
        except Exception:  # pylint: disable=broad-except
            traceback.print_exc()
            self.send_text(500, 'simulator error\n', 'text/plain; charset=utf-8')

    # --- /_sim ---------------------------------------------------------------------------
    def control(self, path, body, query=''):
        """Test-control endpoints (no token needed)."""
        sim = self.server.sim
        method = self.command
        if path == '/_sim/requests' and method == 'GET':
            self.send_json(200, sim.requests())
        elif path == '/_sim/reset' and method == 'POST':
            sim.reset_log()
            self.send_json(200, {'ok': True})
        elif path == '/_sim/faults' and method in ('POST', 'PUT', 'DELETE', 'GET'):
            if method == 'GET':
                plan = sim.fault_plan
                self.send_json(200, plan.describe() if plan else None)
                return
            spec = None
            if method != 'DELETE' and body.strip():
                try:
                    spec = json.loads(body)
                except ValueError as error:
                    self.send_json(400, {'error': 'invalid JSON: %s' % error})
                    return
            try:
                sim.set_faults(spec)
            except (ValueError, TypeError) as error:
                self.send_json(400, {'error': str(error)})
                return
            self.send_json(200, sim.fault_plan.describe() if sim.fault_plan else None)
        elif path == '/_sim/race-window' and method in ('PUT', 'GET'):
            if method == 'PUT':
                try:
                    sim.site.races.set_window(json.loads(body)['ms'])
                except (ValueError, TypeError, KeyError) as error:
                    self.send_json(400, {'error': 'expected {"ms": N}: %s' % error})
                    return
            self.send_json(200, {'ms': sim.site.races.window * 1000.0})
        elif path == '/_sim/state' and method == 'GET':
            parts = [part for value in parse_qs(query).get('parts', []) for part in value.split(',') if part]
            self.send_json(200, sim.store.dump(parts or None))
        else:
            self.send_json(404, {'error': 'unknown control endpoint %s %s' % (method, path)})

    # --- the web service -----------------------------------------------------------------
    def webservice(self, query, body):
        """One web-service request, with faults, latency and logging."""
        sim = self.server.sim
        query_pairs = phpform.split_pairs(query)
        ctype = self.headers.get('Content-Type', '').lower()
        body_pairs = []
        if self.command == 'POST' and ctype.startswith('application/x-www-form-urlencoded'):
            body_pairs = phpform.split_pairs(body)
        get = phpform.build(phpform.truncate_query(query_pairs, sim.max_input_vars))
        post = phpform.build(phpform.truncate_body(body_pairs, sim.max_input_vars))
        merged = phpform.array_merge(get, post)
        wsfunction = merged.get('wsfunction')
        if not isinstance(wsfunction, str):
            wsfunction = None
        write = wsfunction in WRITE_FUNCTIONS
        entry = {'wsfunction': wsfunction, 'fields': len(query_pairs) + len(body_pairs), 'write': write,
                 'errorcode': None, 'status': None, 'fault': None}
        sim.log_request(entry)
        if sim.latency_ms > 0:
            sim.stopping.wait(sim.latency_ms / 1000.0)
        fault_spec = sim.pick_fault_spec(wsfunction, write)
        fault = fault_spec.get('mode')
        entry['fault'] = fault
        if fault == '503':
            entry['status'] = 503
            self.send_text(503, UNAVAILABLE_PAGE, HTML_TYPE)
        elif fault == 'html':
            entry['status'] = 200
            self.send_text(200, LOGIN_PAGE, HTML_TYPE)
        elif fault == '404':
            entry['status'] = 404
            self.not_found_page(WS_PATH)
        elif fault == 'reset':
            self.reset_connection()
        elif fault == 'timeout':
            sim.stopping.wait(sim.timeout_fault_s)
            self.reset_connection()
        else:
            # Served by one of the site's workers; /_sim requests never wait for one.
            with self.server.workers.worker():
                answer = sim.handle(get, post, force_xml=fault == 'xml', fault=fault_spec)
                self.server.cost_hook(wsfunction, merged, answer)
                status, rtype, text, errorcode = answer
                entry['errorcode'] = errorcode
                if fault == 'lost':
                    self.reset_connection()
                    return
                entry['status'] = status
                self.send_text(status, text, rtype)


class WorkerPool:
    """The web server's workers, like PHP's built-in server with ``PHP_CLI_SERVER_WORKERS=N``.

    A worker serves one request at a time, one after another; a request that finds every
    worker busy waits in line (first come, first served).
    """

    def __init__(self, size):
        if size < 1:
            raise ValueError('--workers must be at least 1')
        self.size = size
        self.free = queue.Queue()
        for number in range(1, size + 1):
            self.free.put(number)

    @contextlib.contextmanager
    def worker(self):
        """Hold a worker while serving a request; yields its number (1..N)."""
        number = self.free.get()
        try:
            yield number
        finally:
            self.free.put(number)


def no_cost(wsfunction, form, answer):  # pylint: disable=unused-argument
    """The default cost hook: requests cost nothing beyond the simulator's own work.

    A cost model replaces ``Server.cost_hook`` with a function of the same signature, called
    once per web-service request inside the worker that serves it, after the answer is made
    and before it is sent: ``wsfunction`` (str or None), ``form`` (the request's fields as PHP
    parsed them, nested dicts), ``answer`` (``(status, content type, body text, errorcode)``).
    Sleeping there holds the worker, as the real site's time does.
    """


class Server(ThreadingHTTPServer):
    """Threaded HTTP server (a thread per connection, so /_sim is always served); web-service
    requests are served by a bounded pool of workers. Handler threads never block shutdown."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address, sim, verbose=False, workers=8):
        super().__init__(address, Handler)
        self.sim = sim
        self.verbose = verbose
        self.workers = WorkerPool(workers)
        self.cost_hook = no_cost

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, ValueError)):
            return
        super().handle_error(request, client_address)


def load_seed(path):
    """A seed document from JSON or YAML."""
    with open(path, encoding='utf-8') as handle:
        text = handle.read()
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        import yaml  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise SystemExit('%s is not JSON, and reading it as YAML needs PyYAML, which this Python (%s) lacks: '
                         'start the simulator with the Python that runs Ansible, or give a JSON seed'
                         % (path, sys.executable)) from None
    return yaml.safe_load(text) or {}


def _write_atomically(path, text):
    temp = '%s.%d.tmp' % (path, os.getpid())
    with open(temp, 'w', encoding='utf-8') as handle:
        handle.write(text)
    os.replace(temp, path)


def build_parser():
    """The command line."""
    parser = argparse.ArgumentParser(prog='python -m tests.simulator',
                                     description='Pluto web-service simulator (Moodle 4.5 REST, SQLite state).')
    parser.add_argument('--host', default='127.0.0.1', help='address to listen on (default 127.0.0.1)')
    parser.add_argument('--port', type=int, default=0, help='port (0 picks a free one)')
    parser.add_argument('--state', default=':memory:', help='SQLite file that keeps the site (default in memory)')
    parser.add_argument('--token', action='append', default=[], metavar='TOKEN[:ROLE[:-f1,-f2]]',
                        help='a web-service token, its role (%s; default manager) and functions removed from its '
                             'service; repeatable; default: simtoken:manager' % ', '.join(ROLES))
    parser.add_argument('--db', choices=DB_KINDS, default=POSTGRES,
                        help='database kind the site runs on: how text compares (default postgres)')
    parser.add_argument('--workers', type=int, default=8, metavar='N',
                        help='web-server workers: at most N web-service requests in service at once (default 8)')
    parser.add_argument('--race-window-ms', type=float, default=0, metavar='MS',
                        help='widen the window between check and insert (create) and between inserts (add), '
                             'so that concurrent writes always overlap (default 0)')
    parser.add_argument('--max-input-vars', type=int, default=5000, help="PHP max_input_vars (default 5000)")
    parser.add_argument('--latency-ms', type=float, default=0, help='delay added to every web-service request')
    parser.add_argument('--fail-rate', type=float, default=0.0, help='probability of an injected fault per request')
    parser.add_argument('--fail-mode', default='503', choices=FAULT_MODES, help='kind of random fault (default 503)')
    parser.add_argument('--fail-seed', type=int, default=None, help='seed for the random faults')
    parser.add_argument('--timeout-fault-s', type=float, default=60.0,
                        help='how long a "timeout" fault holds the request (default 60 s)')
    parser.add_argument('--debug', action='store_true', help='developer debugging: errors carry debuginfo')
    parser.add_argument('--debug-in-message', action='store_true',
                        help='with --debug, error messages also end with " (debuginfo)"')
    parser.add_argument('--allow-cohort-themes', action='store_true', help='site setting allowcohortthemes')
    parser.add_argument('--seed-users', type=int, default=0, metavar='N', help='users u00001..uNNNNN')
    parser.add_argument('--seed-file', help='JSON or YAML with categories, users and cohorts')
    parser.add_argument('--no-shuffle', action='store_true', help='keep list results in database order')
    parser.add_argument('--sitename', default='Pluto LMS', help='site name reported by get_site_info')
    parser.add_argument('--ready-file', help='write the base URL here once listening')
    parser.add_argument('--pid-file', help='write the process id here')
    parser.add_argument('--verbose', action='store_true', help='log HTTP requests to stderr')
    parser.add_argument('--exit-with-parent', action='store_true',
                        help='stop when the process that started the simulator is gone (for tests and scripts)')
    parser.add_argument('--tls-cert', help='serve HTTPS with this PEM certificate (chain)')
    parser.add_argument('--tls-key', help='the PEM private key of --tls-cert (default: in the --tls-cert file)')
    parser.add_argument('--cost-model', action='store_true',
                        help='spend what each request costs on a real Moodle 4.5 site with the --db database '
                             '(measured fixed ms a request + ms an item); off by default')
    return parser


def main(argv=None):
    """Run the simulator until SIGTERM or SIGINT; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        tokens = [parse_token(spec) for spec in (args.token or ['simtoken:manager'])]
    except ValueError as error:
        parser.error(str(error))
    if args.workers < 1:
        parser.error('--workers must be at least 1')
    store = Store(args.state, db=args.db)
    assign_token_users(store, tokens)
    if args.seed_users:
        store.seed_generated_users(args.seed_users)
    if args.seed_file:
        store.seed(load_seed(args.seed_file))
    site = Site(store, debug=args.debug, allow_cohort_themes=args.allow_cohort_themes, shuffle=not args.no_shuffle,
                sitename=args.sitename, race_window_ms=args.race_window_ms)
    site.debug_in_message = args.debug_in_message
    sim = Simulator(store, tokens, site, max_input_vars=args.max_input_vars, latency_ms=args.latency_ms,
                    fail_rate=args.fail_rate, fail_mode=args.fail_mode, fail_seed=args.fail_seed,
                    timeout_fault_s=args.timeout_fault_s)
    server = Server((args.host, args.port), sim, verbose=args.verbose, workers=args.workers)
    if args.cost_model:
        server.cost_hook = CostModel(args.db, wait=sim.stopping.wait, user_view=lambda token: USER_VIEW in
                                     ROLE_CAPABILITIES[sim.tokens[token].role] if token in sim.tokens else True)
    port = server.server_address[1]
    scheme = 'http'
    if args.tls_cert:
        # HTTPS with the given certificate (tests make a self-signed one): every endpoint, /_sim too.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = 'https'
    url = '%s://%s:%d' % (scheme, args.host, port)
    site.siteurl = url
    stop = threading.Event()

    def on_signal(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.2}, daemon=True)
    worker.start()
    if args.pid_file:
        _write_atomically(args.pid_file, '%d\n' % os.getpid())
    if args.ready_file:
        _write_atomically(args.ready_file, url + '\n')
    sys.stdout.write('listening on %s\n' % url)
    sys.stdout.flush()
    parent = os.getppid()
    while not stop.wait(0.5):
        if args.exit_with_parent and os.getppid() != parent:
            break
    sim.stopping.set()
    server.shutdown()
    server.server_close()
    store.close()
    for path in (args.ready_file, args.pid_file):
        if path:
            try:
                os.unlink(path)
            except OSError:
                pass
    return 0
