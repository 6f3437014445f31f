# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A forwarding proxy in front of a simulator that makes races happen on cue.

The collection talks to the proxy's URL as if it were the site. Every request is forwarded
unchanged, except that rules may act first:

- ``before_write(wsfunction, action)``: on the first request of that write function, run
  ``action()`` (someone else changing the site, e.g. deleting the cohort) and then forward it.
- ``collide(wsfunction)``: hold the first request of that function until a second one
  arrives (or ``wait`` seconds pass), forward the first, and answer the second the way the
  reference recorded for two simultaneous add calls: failed whole with dmlwriteexception,
  nothing applied.

Nothing here logs request bodies (they carry the token).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

DML_WRITE_EXCEPTION = {"exception": "dml_write_exception", "errorcode": "dmlwriteexception",
                       "message": "Error writing to database"}


class RaceProxy(object):
    """Start with ``RaceProxy(simulator_url).start()``; ``.url`` is what the playbook uses."""

    def __init__(self, target_url):
        parts = urlsplit(target_url)
        self.target = (parts.hostname, parts.port)
        self.lock = threading.Lock()
        self.before = {}
        self.collisions = {}
        self.events = []
        self.server = None
        self.thread = None
        self.url = None

    # ---- rules --------------------------------------------------------------------------
    def before_write(self, wsfunction, action):
        with self.lock:
            self.before.setdefault(wsfunction, []).append(action)

    def collide(self, wsfunction, wait=60.0):
        with self.lock:
            self.collisions[wsfunction] = {"first": None, "second": threading.Event(), "first_done": threading.Event(),
                                           "wait": wait, "done": False}

    # ---- lifecycle ----------------------------------------------------------------------
    def start(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # pylint: disable=redefined-builtin
                pass

            def do_POST(self):  # pylint: disable=invalid-name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, headers, answer = proxy.handle(self.path, self.headers, body)
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    # ---- forwarding ---------------------------------------------------------------------
    def forward(self, path, headers, body):
        connection = http.client.HTTPConnection(self.target[0], self.target[1], timeout=120)
        try:
            connection.request("POST", path, body=body,
                               headers={"Content-Type": headers.get("Content-Type", "application/x-www-form-urlencoded")})
            answer = connection.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            connection.close()

    def handle(self, path, headers, body):
        wsfunction = dict(parse_qsl(body.decode("utf-8", "replace"))).get("wsfunction")
        with self.lock:
            actions = self.before.pop(wsfunction, [])
            collision = self.collisions.get(wsfunction)
        for action in actions:
            self.events.append("someone else acted before %s" % wsfunction)
            action()
        if collision is not None and not collision["done"]:
            with self.lock:
                first = collision["first"] is None
                if first:
                    collision["first"] = threading.current_thread().name
            if first:
                arrived = collision["second"].wait(collision["wait"])
                self.events.append("first %s %s" % (wsfunction, "collided" if arrived else "arrived alone"))
                try:
                    return self.forward(path, headers, body)
                finally:
                    collision["first_done"].set()
            collision["done"] = True
            collision["second"].set()
            # The site answers the loser once the winner's transaction is committed.
            collision["first_done"].wait(collision["wait"])
            self.events.append("second %s failed with dmlwriteexception" % wsfunction)
            return 200, [("Content-Type", "application/json; charset=utf-8")], json.dumps(DML_WRITE_EXCEPTION).encode("utf-8")
        return self.forward(path, headers, body)
