"""pytest fixtures that start real simulators over HTTP.

Use them with ``pytest_plugins = ['tests.simulator.pytest_fixtures']`` or by importing
``simulator`` and ``simulator_factory`` into a conftest.

- ``simulator``: a fresh in-memory site with five users (u00001..u00005) and the token ``simtoken`` (manager).
- ``simulator_factory(*args, **kwargs)``: start one with custom switches; every one started is stopped at teardown.
- ``together(*calls)``: run calls at the same moment from threads, as concurrent clients of one site.
"""

from __future__ import annotations

import threading

import pytest

from .process import start_simulator


@pytest.fixture
def simulator():
    """A running simulator: in-memory state, users u00001..u00005, token simtoken (manager)."""
    sim = start_simulator(seed_users=5)
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def simulator_factory():
    """Start simulators with custom arguments (``factory(debug=True, token=['t:viewer'])``)."""
    started = []

    def factory(*args, **kwargs):
        sim = start_simulator(*args, **kwargs)
        started.append(sim)
        return sim

    try:
        yield factory
    finally:
        for sim in started:
            sim.stop()


def together(*calls, stagger=0.0, timeout=120):
    """Run calls at the same moment from threads (call i starts i * stagger seconds later); their answers in order
    (None for a call that has not returned after timeout seconds)."""
    answers = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(index, call):
        barrier.wait()
        if index and stagger:
            threading.Event().wait(index * stagger)
        answers[index] = call()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return answers
