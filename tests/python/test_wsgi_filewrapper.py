"""environ["wsgi.file_wrapper"] (waitress-behaviour.md §4.12): waitress's FileWrapperTests
matrix, a file positioned before it is wrapped, and the sendfile path that never reads a
regular file through Python; over TCP and a Unix socket."""
import time

import pytest

from conftest import BACKEND, request_bytes
from fixtureapps.filewrapper import OFFSET, PAYLOAD, SIZE


@pytest.fixture
def files(shared_server):
    return shared_server("filewrapper:app")


def get(client, path, version="HTTP/1.1", headers=()):
    client.send(request_bytes("GET", path, list(headers), version=version))
    return client.read_response(allow_incomplete=True)


# --- seekable files: the length comes from the file ---------------------------------------

@pytest.mark.parametrize("cl, length", [
    ("cl", SIZE), ("nocl", SIZE), ("shortcl", 1), ("longcl", SIZE),
])
def test_seekable_file_http11_has_the_right_length_and_persists(files, cl, length):
    with files.connect() as c:
        for _ in range(2):
            resp = get(c, f"/filelike/{cl}")
            assert (resp.version, resp.status) == ("HTTP/1.1", 200)
            assert resp.header("Content-Type") == "image/jpeg"
            assert resp.header("Content-Length") == str(length)
            assert resp.complete and resp.body == PAYLOAD[:length]
        assert c.stays_open()


@pytest.mark.parametrize("cl", ["cl", "nocl"])
def test_seekable_file_http10_has_a_length_and_closes(files, cl):
    with files.connect() as c:
        resp = get(c, f"/filelike/{cl}", "HTTP/1.0")
        assert (resp.version, resp.status) == ("HTTP/1.0", 200)
        assert resp.header("Content-Length") == str(SIZE)
        assert resp.body == PAYLOAD
        c.assert_closed()


def test_seekable_file_http10_keepalive_persists(files):
    with files.connect() as c:
        for _ in range(2):
            resp = get(c, "/filelike/nocl", "HTTP/1.0", [("Connection", "Keep-Alive")])
            assert resp.header("Connection") == "Keep-Alive"
            assert resp.body == PAYLOAD


@pytest.mark.parametrize("cl", ["cl", "nocl"])
def test_file_is_sent_from_its_current_position(files, cl):
    with files.connect() as c:
        resp = get(c, f"/offset/{cl}")
        assert resp.header("Content-Length") == str(SIZE - OFFSET)
        assert resp.body == PAYLOAD[OFFSET:]


def test_files_and_byte_responses_alternate_on_one_connection(files):
    # A file of more than 128 KiB is sent with the socket's unsent limit on and a bytes
    # response with it off again (net::WriteQueue): every switch, on one connection, keeps
    # the bytes in order and whole.
    with files.connect() as c:
        for _ in range(3):
            resp = get(c, "/filelike/cl")
            assert resp.complete and resp.body == PAYLOAD
            resp = get(c, "/notfilelike/cl")  # the same bytes, produced by Python
            assert resp.complete and resp.body == PAYLOAD
        assert c.stays_open()


# --- objects that are not seekable files: a plain iterable of blocks ----------------------

KINDS = ["notfilelike", "iobase"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cl, length", [("cl", SIZE), ("shortcl", 1)])
def test_unseekable_http11_with_length_persists(files, kind, cl, length):
    with files.connect() as c:
        for _ in range(2):
            resp = get(c, f"/{kind}/{cl}")
            assert resp.status == 200
            assert resp.header("Content-Length") == str(length)
            assert resp.complete and resp.body == PAYLOAD[:length]
        assert c.stays_open()


@pytest.mark.parametrize("kind", KINDS)
def test_unseekable_http11_without_length_is_chunked(files, kind):
    with files.connect() as c:
        resp = get(c, f"/{kind}/nocl")
        assert resp.header("Transfer-Encoding") == "chunked"
        assert resp.complete and resp.body == PAYLOAD
        if BACKEND == "waitron":  # README: chunked responses persist
            assert get(c, f"/{kind}/nocl").body == PAYLOAD
        else:
            c.assert_closed()


@pytest.mark.parametrize("kind", KINDS)
def test_unseekable_http11_with_a_long_length_is_short_and_closes(files, kind):
    with files.connect() as c:
        resp = get(c, f"/{kind}/longcl")
        assert resp.header("Content-Length") == str(SIZE + 10)
        assert not resp.complete and resp.body == PAYLOAD
        c.assert_closed()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cl", ["cl", "nocl"])
def test_unseekable_http10_closes(files, kind, cl):
    with files.connect() as c:
        resp = get(c, f"/{kind}/{cl}", "HTTP/1.0")
        assert (resp.version, resp.status) == ("HTTP/1.0", 200)
        assert resp.header("Content-Length") == (str(SIZE) if cl == "cl" else None)
        assert resp.body == PAYLOAD
        c.assert_closed()


# --- the sendfile path --------------------------------------------------------------------

def _counts(server, closes=0, other_closes=0, timeout=10.0):
    """The counters once `closes` and `other_closes` are reached (or after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = server.request("GET", "/reads").json()
        done = counts["closes"] >= closes and counts["other_closes"] >= other_closes
        if done or time.monotonic() > deadline:
            return counts
        time.sleep(0.02)


@pytest.mark.waitron_only
@pytest.mark.parametrize("cl, length", [("cl", SIZE), ("nocl", SIZE), ("longcl", SIZE),
                                        ("shortcl", 1)])
def test_regular_file_is_never_read_through_python(start_server, cl, length):
    files = start_server("filewrapper:app")  # counters of its own
    before = _counts(files)
    with files.connect() as c:
        for _ in range(2):
            resp = get(c, f"/counting/{cl}")
            assert resp.header("Content-Length") == str(length)
            assert resp.complete and resp.body == PAYLOAD[:length]
    after = _counts(files, closes=before["closes"] + 2)
    assert after == dict(before, closes=before["closes"] + 2)  # and no read


@pytest.mark.parametrize("kind", KINDS)
def test_wrapper_close_closes_the_file_like_object(start_server, kind):
    files = start_server("filewrapper:app")  # counters of its own
    before = _counts(files)
    resp = files.request("GET", f"/{kind}/cl")
    assert resp.body == PAYLOAD
    after = _counts(files, other_closes=before["other_closes"] + 1)
    assert after == dict(before, other_closes=before["other_closes"] + 1)


@pytest.mark.waitron_only
@pytest.mark.parametrize("path, length", [
    ("/filelike/cl", str(SIZE)), ("/counting/nocl", str(SIZE)), ("/notfilelike/nocl", None),
])
def test_head_sends_no_file_bytes(files, path, length):
    with files.connect() as c:
        resp = c.request("HEAD", path)
        assert resp.status == 200 and resp.header("Content-Length") == length
        resp = get(c, "/filelike/shortcl")  # the next response comes right after the head
        assert resp.body == PAYLOAD[:1]
