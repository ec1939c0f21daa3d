"""Large bodies both ways, with small buffers so that the back-pressure paths run:
responses streamed with write() and by an iterable arrive intact, a write() to a client
that went away raises in the app and is not logged as an error, concurrent uploads past
inbuf_overflow each reach their own app, bodies an app leaves unread do not disturb the
next pipelined request, and the server keeps no reference to an environ or an app_iter
once their request is done; over TCP and a Unix socket."""
import threading
import time
import uuid

import pytest

from conftest import request_bytes
from fixtureapps.bigresponse import expected

SMALL_BUFFERS = dict(outbuf_high_watermark=65536, outbuf_overflow=32768)


@pytest.mark.parametrize("how", ["write", "iter"])
def test_large_streamed_response_arrives_intact(shared_server, how):
    server = shared_server("bigresponse:app", **SMALL_BUFFERS)
    size = 8 * 1024 * 1024 + 7
    for _ in range(2):
        resp = server.request("GET", f"/{how}/{size}")
        assert resp.status == 200 and resp.header("Transfer-Encoding") == "chunked"
        assert len(resp.body) == size and resp.body == expected(size)


def test_write_to_a_departed_client_raises_in_the_app(shared_server):
    server = shared_server("bigresponse:app", **SMALL_BUFFERS)
    ident = uuid.uuid4().hex
    c = server.connect()
    c.send(request_bytes("GET", f"/write_record/{ident}/{64 * 1024 * 1024}"))
    assert c.read_head().status == 200
    c.close()
    deadline = time.monotonic() + 10
    while (record := server.request("GET", f"/record/{ident}").json()["record"]) is None:
        assert time.monotonic() < deadline, "the app never finished"
        time.sleep(0.02)
    assert record == "ClientDisconnected"
    assert not server.wait_for_log("Exception while serving", timeout=0.5), server.log()


def test_concurrent_uploads_past_inbuf_overflow(shared_server):
    server = shared_server("inputapp:app", inbuf_overflow=1024)
    bodies = [bytes([65 + n]) * (150_000 + n) + b"\n%d" % n for n in range(12)]
    results = [None] * len(bodies)

    def upload(n):
        with server.connect() as c:
            results[n] = c.request("POST", "/read_all", body=bodies[n]).json()

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [[["bytes", body.decode("latin-1")], ["bytes", ""]] for body in bodies]


def test_unread_bodies_do_not_disturb_pipelined_requests(shared_server):
    server = shared_server("toolarge:app")  # never reads wsgi.input
    data = b"".join(request_bytes("POST", f"/{n}", body=b"GET /smuggled HTTP/1.1\r\n\r\n" * n)
                    for n in range(1, 6))
    with server.connect() as c:
        c.send(data + request_bytes("GET", "/last", [("Connection", "close")]))
        for _ in range(6):
            resp = c.read_response()
            assert resp.status == 200 and resp.body == b"not too large"
        c.assert_closed()


def test_environ_and_app_iter_are_released(shared_server):
    server = shared_server("leaks:app")
    for n in range(30):
        assert server.request("POST", f"/probe/{n}", body=b"x" * n).status == 200
    deadline = time.monotonic() + 5
    while (alive := server.request("GET", "/alive").json()) != {"environs": 0, "app_iters": 0}:
        assert time.monotonic() < deadline, f"still alive after 5 s: {alive}"
        time.sleep(0.05)
