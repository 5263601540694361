"""moto's server, answering one request at a time.

moto's DynamoDB keeps no locks: two conditional writes racing in the threaded server
can both pass their conditions (seen here: 4 invites created against a quota of 3, a
job claim lost). Real DynamoDB serialises conditional writes and transactions on an
item, and the race tests exist to show the code relies on that, so the emulator must
too. Connections are still accepted on threads (the SDK keeps connections alive);
only the handling of requests is serialised.

Usage: python moto_serial.py HOST PORT
"""

import sys
import threading

from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

app = DomainDispatcherApplication(create_backend_app)


class FairLock:
    """A lock taken in arrival order: a storm of requests from one test must not starve
    another test's request (threading.Lock wakes waiters in any order)."""

    def __init__(self):
        self.cv = threading.Condition()
        self.next_ticket = 0
        self.serving = 0

    def __enter__(self):
        with self.cv:
            ticket = self.next_ticket
            self.next_ticket += 1
            while self.serving != ticket:
                self.cv.wait()

    def __exit__(self, *exc):
        with self.cv:
            self.serving += 1
            self.cv.notify_all()


one_at_a_time = FairLock()


def serial(environ, start_response):
    with one_at_a_time:
        # The whole body is produced inside the lock: the request is handled by then.
        return list(app(environ, start_response))


if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    run_simple(host, port, serial, threaded=True, request_handler=MotoRequestHandler)
