"""Start and drive the simulator as a subprocess, for tests and benchmarks.

    from tests.simulator.process import start_simulator

    with start_simulator(seed_users=10, debug=True) as sim:
        sim.call('core_cohort_create_cohorts', {'cohorts': [...]})
        assert sim.requests()[-1]['write']

Keyword arguments become command-line switches: ``seed_users=10`` -> ``--seed-users 10``,
``debug=True`` -> ``--debug``, ``token=['a:manager', 'b:viewer']`` -> ``--token a:manager --token b:viewer``.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlencode, urlsplit

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WS_PATH = '/webservice/rest/server.php'
DEFAULT_TOKEN = 'simtoken'


def cli_args(*args, **kwargs):
    """Command-line arguments for the simulator from positional strings and keyword switches."""
    result = [str(arg) for arg in args]
    for key, value in kwargs.items():
        flag = '--' + key.replace('_', '-')
        if value is None or value is False:
            continue
        if value is True:
            result.append(flag)
        elif isinstance(value, (list, tuple)):
            for item in value:
                result.extend([flag, str(item)])
        else:
            result.extend([flag, str(value)])
    return result


def encode_params(params, prefix=''):
    """PHP-style field list for nested dicts and lists: ``{'a': [{'b': 1}]}`` -> ``[('a[0][b]', '1')]``."""
    pairs = []
    if isinstance(params, dict):
        items = params.items()
    elif isinstance(params, (list, tuple)):
        items = enumerate(params)
    else:
        return [(prefix, _scalar(params))]
    for key, value in items:
        name = '%s[%s]' % (prefix, key) if prefix else str(key)
        if isinstance(value, (dict, list, tuple)):
            pairs.extend(encode_params(value, name))
        elif value is not None:
            pairs.append((name, _scalar(value)))
    return pairs


def _scalar(value):
    if value is True:
        return '1'
    if value is False:
        return '0'
    return str(value)


class Response:
    """A raw HTTP answer."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def content_type(self):
        """The Content-Type header."""
        return self.headers.get('content-type', '')

    @property
    def text(self):
        """The body as text."""
        return self.body.decode('utf-8')

    def json(self):
        """The body as JSON."""
        return json.loads(self.body)


class SimulatorError(RuntimeError):
    """The simulator did not start or answer as expected."""


class SimulatorProcess:
    """A simulator subprocess (``python -m tests.simulator --port 0 ...`` from the repository root)."""

    def __init__(self, *args, startup_timeout=30.0, env=None, **kwargs):
        self.args = cli_args(*args, **kwargs)
        if '--port' not in self.args:
            self.args = ['--port', '0'] + self.args
        self.startup_timeout = startup_timeout
        self.env = env
        self.process = None
        self.url = None
        self.port = None
        self._stderr = None

    # --- lifecycle ---------------------------------------------------------------------
    def start(self):
        """Launch and wait for the ``listening on`` line."""
        if self.process is not None:
            raise SimulatorError('already started')
        self._stderr = tempfile.TemporaryFile()  # pylint: disable=consider-using-with
        command = [sys.executable, '-m', 'tests.simulator', '--exit-with-parent'] + self.args
        env = dict(os.environ if self.env is None else self.env)
        env['PYTHONPATH'] = REPO_ROOT + (os.pathsep + env['PYTHONPATH'] if env.get('PYTHONPATH') else '')
        env.setdefault('PYTHONDONTWRITEBYTECODE', '1')
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with
            command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self._stderr)
        deadline = time.monotonic() + self.startup_timeout
        line = b''
        while time.monotonic() < deadline:
            ready, _unused, _unused = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                line = self.process.stdout.readline()
                break
            if self.process.poll() is not None:
                break
        text = line.decode('utf-8', 'replace').strip()
        if not text.startswith('listening on '):
            self.kill()
            raise SimulatorError('simulator did not start (%r); stderr:\n%s' % (text, self.stderr()))
        self.url = text[len('listening on '):]
        self.port = urlsplit(self.url).port
        return self

    def stop(self, timeout=10.0):
        """SIGTERM, wait, kill on timeout; returns the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        return self.process.returncode

    def kill(self):
        """Kill at once."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self, *args, **kwargs):
        """Stop and start again with the same (or additional) arguments; the ``--state`` file keeps the site."""
        self.stop()
        if args or kwargs:
            self.args = list(self.args) + cli_args(*args, **kwargs)
        self.process = None
        return self.start()

    @property
    def returncode(self):
        """Exit status, or None while running."""
        return None if self.process is None else self.process.poll()

    def stderr(self):
        """What the simulator wrote to stderr so far."""
        if self._stderr is None:
            return ''
        self._stderr.seek(0)
        return self._stderr.read().decode('utf-8', 'replace')

    def __enter__(self):
        if self.process is None:
            self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    # --- HTTP --------------------------------------------------------------------------
    @property
    def ws_url(self):
        """The web-service endpoint."""
        return self.url + WS_PATH

    def request(self, method, path, body=None, headers=None, timeout=60.0):
        """One HTTP request on a fresh connection; returns a Response."""
        if self.url.startswith('https:'):
            # --tls-cert: the simulator's own (self-signed) certificate is not checked here.
            connection = http.client.HTTPSConnection('127.0.0.1', self.port, timeout=timeout,
                                                     context=ssl._create_unverified_context())  # pylint: disable=protected-access
        else:
            connection = http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            answer = connection.getresponse()
            data = answer.read()
            return Response(answer.status, {key.lower(): value for key, value in answer.getheaders()}, data)
        finally:
            connection.close()

    def post(self, pairs, query=None, method='POST', path=WS_PATH, body=None, content_type=None, timeout=60.0):
        """Send form fields (ordered ``(name, value)`` pairs) as the body, optional query fields in the URL."""
        if query:
            path = path + '?' + urlencode(list(query.items()) if isinstance(query, dict) else list(query))
        if body is None:
            body = urlencode(list(pairs or []))
            content_type = content_type or 'application/x-www-form-urlencoded'
        headers = {'Content-Type': content_type} if content_type else {}
        return self.request(method, path, body=body.encode('utf-8') if isinstance(body, str) else body,
                            headers=headers, timeout=timeout)

    def call(self, wsfunction, params=None, token=DEFAULT_TOKEN, fmt='json', timeout=60.0):
        """Call a web-service function the way a careful client does; returns the decoded JSON answer."""
        pairs = [('wstoken', token), ('wsfunction', wsfunction)]
        if fmt:
            pairs.append(('moodlewsrestformat', fmt))
        pairs.extend(encode_params(params or {}))
        answer = self.post(pairs, timeout=timeout)
        if answer.status != 200:
            raise SimulatorError('HTTP %d from %s' % (answer.status, wsfunction))
        return answer.json() if fmt == 'json' else answer.text

    # --- /_sim -------------------------------------------------------------------------
    def _control(self, method, path, value=None):
        body = json.dumps(value).encode('utf-8') if value is not None else None
        answer = self.request(method, path, body=body,
                              headers={'Content-Type': 'application/json'} if body is not None else None)
        if answer.status != 200:
            raise SimulatorError('%s %s: HTTP %d %s' % (method, path, answer.status, answer.text))
        return answer.json()

    def requests(self):
        """The request log: one dict per web-service request, in arrival order."""
        return self._control('GET', '/_sim/requests')

    def reset_log(self):
        """Clear the request log."""
        self._control('POST', '/_sim/reset')

    def set_faults(self, mode, functions=None, writes_only=False, skip=0, count=-1, userids=None):
        """Deterministic faults: ``mode`` in 503, reset, timeout, html, xml, 404, lost, concurrent_create,
        concurrent_create_first, concurrent_add (``userids``: the other client's users for concurrent_add)."""
        spec = {'mode': mode, 'writes_only': writes_only, 'skip': skip, 'count': count}
        if functions:
            spec['functions'] = list(functions)
        if userids is not None:
            spec['userids'] = list(userids)
        return self._control('POST', '/_sim/faults', spec)

    def clear_faults(self):
        """No more injected faults (random ones from --fail-rate stay)."""
        self._control('DELETE', '/_sim/faults')

    def set_race_window(self, race_window_ms):
        """Change ``--race-window-ms`` of the running simulator (from its next pause on)."""
        return self._control('PUT', '/_sim/race-window', {'ms': race_window_ms})['ms']

    def state(self, parts=None):
        """Categories, users, cohorts with their members, and id sequences (``parts``: only those keys)."""
        if parts:
            return self._control('GET', '/_sim/state?parts=' + ','.join(parts))
        return self._control('GET', '/_sim/state')


def start_simulator(*args, **kwargs):
    """Start a simulator and return the running SimulatorProcess (use it as a context manager)."""
    return SimulatorProcess(*args, **kwargs).start()
