"""Inline mode (threads=0): the WSGI app runs on the thread that runs the event loop (the
one that called run()), holding the GIL with that thread's own Python thread state; it is
never paused by outbuf_high_watermark; and it refuses stream_request_body."""
import pytest

import waitron
from conftest import request_bytes


def test_the_app_runs_on_the_thread_that_called_run(start_server):
    server = start_server("inline:app", threads=0)
    with server.connect() as conn:
        first = conn.request("GET", "/thread").body.split()
        second = conn.request("GET", "/thread").body.split()
    assert first[0] == first[1]  # launch.py calls run() on the main thread
    assert [int(first[2]), int(second[2])] == [1, 2]  # threading.local persists


def test_pygilstate_inside_the_app_finds_the_running_thread_state(start_server):
    server = start_server("inline:app", threads=0)
    with server.connect() as conn:
        assert conn.request("GET", "/gilstate").body == b"gilstate ok"
        assert conn.request("GET", "/gilstate").body == b"gilstate ok"


def test_pipelined_requests_and_a_response_past_the_high_watermark(start_server):
    server = start_server("inline:app", threads=0, outbuf_high_watermark=65536)
    with server.connect() as conn:
        conn.send(request_bytes("POST", "/e", body=b"one") +
                  request_bytes("POST", "/e", body=b"two") +
                  request_bytes("GET", "/big"))
        assert conn.read_response().body == b"echo one"
        assert conn.read_response().body == b"echo two"
        big = conn.read_response()
        assert big.status == 200 and big.body == b"x" * (64 * 65536)


def test_helper_threads_may_write_while_the_app_waits_for_them(start_server):
    # The loop thread waits in the app (join) while each helper writes: the response pipe
    # of inline mode takes no lock, the GIL kept across each write orders them.
    server = start_server("inline:app", threads=0)
    with server.connect() as conn:
        for _ in range(3):
            resp = conn.request("GET", "/helpers/4")
            lines = resp.body.split(b"\n")
            assert lines[:4] == [b"%d" % n + b"h" * 70000 for n in range(4)]
            assert lines[4] == b"main"


def test_stream_request_body_needs_threads():
    with pytest.raises(ValueError, match="stream_request_body needs threads >= 1"):
        waitron.create_server(lambda e, s: [], host="127.0.0.1", port=0, threads=0,
                              stream_request_body=True)
