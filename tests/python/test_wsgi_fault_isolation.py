"""A faulty application request harms only itself: every PEP 3333 fault (an exception
before or after the head, a non-iterable or None result, a str body, start_response twice,
fewer or more bytes than the Content-Length) ends in a 500 or a closed connection and a
log line, and the server, with a single application thread, goes on serving a keep-alive
connection opened before the fault, a request that was running during it, and new
connections. test_wsgi_errors.py and test_wsgi_framing.py check each fault's exact
response; this file checks the isolation. Over TCP and a Unix socket."""
import pytest

from conftest import IDENT, ConnectionClosed, request_bytes

# path -> (what the faulty connection gets, the log line it causes)
FAULTS = {
    "/raise": ("500", f"ERROR:{IDENT}:Exception while serving /raise"),
    "/raise_late": ("cut", f"ERROR:{IDENT}:Exception while serving /raise_late"),
    "/non_iterable": ("500", f"ERROR:{IDENT}:Exception while serving /non_iterable"),
    "/none": ("500", f"ERROR:{IDENT}:Exception while serving /none"),
    "/yield_str": ("cut", f"ERROR:{IDENT}:Exception while serving /yield_str"),
    "/start_twice": ("500", f"ERROR:{IDENT}:Exception while serving /start_twice"),
    "/short_body": ("cut", f"WARNING:{IDENT}:application returned too few bytes"),
    "/long_body": ("cut_at_length", f"WARNING:{IDENT}:application-written content exceeded"),
}


@pytest.mark.parametrize("path", sorted(FAULTS))
def test_a_fault_harms_only_its_own_request(start_server, path):
    outcome, log_line = FAULTS[path]
    server = start_server("faults:app", threads=1, expect_traceback=True)
    with server.connect() as before, server.connect() as running, server.connect() as faulty:
        assert before.request("GET", "/ok").body == b"ok"  # keep-alive, idle during the fault
        running.send(request_bytes("GET", "/slow?ms=300"))  # queued ahead of the fault
        faulty.send(request_bytes("GET", path))
        try:
            resp = faulty.read_response(allow_incomplete=True)
        except ConnectionClosed:
            resp = None  # closed before a complete head: also a fault's end
        if outcome == "500":
            assert resp is not None and resp.status == 500
            assert resp.header("Connection") == "close"
            faulty.assert_closed()
        elif outcome == "cut":
            # The head went out: the body is cut short (or never terminated) and the
            # connection closed, so the client cannot mistake it for a whole response.
            assert resp is None or not resp.complete or resp.status == 500
            faulty.assert_closed()
        else:  # cut_at_length: the declared length is honoured, the rest dropped
            assert resp.status == 200 and resp.body == b"01234"
            assert faulty.request("GET", "/ok").body == b"ok"  # and the connection persists
        assert server.wait_for_log(log_line), server.log()[-2000:]
        # The request that was running is answered, the earlier connection still works,
        # and so does a new one: the only application thread was not lost.
        assert running.read_response().body == b"slept"
        assert before.request("GET", "/ok").body == b"ok"
        assert server.request("GET", "/ok").body == b"ok"
        assert before.request("GET", "/ok").body == b"ok"


def test_a_burst_of_faults_leaves_the_server_serving(start_server):
    server = start_server("faults:app", threads=1, expect_traceback=True)
    with server.connect() as keeper:
        for _ in range(3):
            for path in sorted(FAULTS):
                with server.connect() as c:
                    c.send(request_bytes("GET", path))
                    try:
                        c.read_response(allow_incomplete=True)
                    except ConnectionClosed:
                        pass
                assert keeper.request("GET", "/ok").body == b"ok"
        assert server.request("GET", "/ok").body == b"ok"
