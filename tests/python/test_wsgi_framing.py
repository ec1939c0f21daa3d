"""Response framing and request limits: waitress's BadContentLengthTests,
NoContentLengthTests, WriteCallbackTests and TooLargeTests (waitress-behaviour.md §4.4,
§4.5, §4.8, §7), over TCP and a Unix socket, with waitron's documented differences."""
import string

import pytest

from conftest import BACKEND, ERROR_FIELDS, IDENT, request_bytes

KEEP_ALIVE_10 = [("Connection", "Keep-Alive")]
LETTERS = string.ascii_letters.encode()
TOOBIG = 1050
LINE32 = b"This string has 32 characters.\r\n"


def assert_error(resp, status, version="HTTP/1.0"):
    assert (resp.version, resp.status) == (version, status)
    assert resp.names() == ERROR_FIELDS
    assert resp.header("Connection") == "close"
    assert int(resp.header("Content-Length")) == len(resp.body)


# --- BadContentLengthTests ---------------------------------------------------------------

def test_app_content_length_too_big_sends_the_short_body_then_closes(shared_server):
    server = shared_server("badcl:app")
    with server.connect() as c:
        request = request_bytes("GET", "/short_body", KEEP_ALIVE_10, version="HTTP/1.0")
        c.send(request)
        resp = c.read_response(allow_incomplete=True)
        assert resp.status == 200
        assert resp.header("Content-Length") == "11"
        assert resp.body == b"0123456789"
        assert not resp.complete
        c.assert_closed(resend=request)
    assert server.wait_for_log(f"WARNING:{IDENT}:application returned too few bytes")


def test_app_content_length_too_small_truncates_and_persists(shared_server):
    server = shared_server("badcl:app")
    with server.connect() as c:
        for _ in range(2):
            resp = c.request("GET", "/long_body", KEEP_ALIVE_10, version="HTTP/1.0")
            assert resp.status == 200
            assert resp.header("Content-Length") == "9"
            assert resp.body == b"012345678"
        assert c.stays_open()
    assert server.wait_for_log(f"WARNING:{IDENT}:application-written content exceeded")


# --- NoContentLengthTests ----------------------------------------------------------------

def test_http10_generator_has_no_length_and_closes(shared_server):
    server = shared_server("nocl:app")
    with server.connect() as c:
        request = request_bytes("GET", "/", KEEP_ALIVE_10, LETTERS, version="HTTP/1.0")
        c.send(request)
        resp = c.read_response()
        assert (resp.version, resp.status) == ("HTTP/1.0", 200)
        assert resp.header("Content-Length") is None
        assert resp.header("Connection") == "close"
        assert resp.body == LETTERS
        c.assert_closed(resend=request)


def test_http10_one_item_list_gets_a_length_and_persists(shared_server):
    server = shared_server("nocl:app")
    with server.connect() as c:
        for _ in range(2):
            resp = c.request("GET", "/list", KEEP_ALIVE_10, LETTERS, version="HTTP/1.0")
            assert (resp.version, resp.status) == ("HTTP/1.0", 200)
            assert resp.header("Content-Length") == str(len(LETTERS))
            assert resp.header("Connection") == "Keep-Alive"
            assert resp.body == LETTERS


def test_http10_two_item_list_has_no_length_and_closes(shared_server):
    server = shared_server("nocl:app")
    with server.connect() as c:
        request = request_bytes("GET", "/list_lentwo", KEEP_ALIVE_10, LETTERS,
                                version="HTTP/1.0")
        c.send(request)
        resp = c.read_response()
        assert resp.header("Content-Length") is None
        assert resp.header("Connection") == "close"
        assert resp.body == LETTERS
        c.assert_closed(resend=request)


def _chunks(*pieces):
    return b"".join(b"%s\r\n%s\r\n" % (("%X" % len(p)).encode(), p) for p in pieces) + b"0\r\n\r\n"


@pytest.mark.parametrize("path, pieces", [
    ("/", [LETTERS[i:i + 10] for i in range(0, len(LETTERS), 10)]),  # sizes A and 2
    ("/list_lentwo", [LETTERS[:1], LETTERS[1:]]),
], ids=["generator", "list_lentwo"])
def test_http11_without_length_is_chunked_one_chunk_per_item(shared_server, path, pieces):
    server = shared_server("nocl:app")
    with server.connect() as c:
        resp = c.request("GET", path, body=LETTERS)
        assert (resp.version, resp.status) == ("HTTP/1.1", 200)
        assert resp.header("Transfer-Encoding") == "chunked"
        assert resp.header("Content-Length") is None
        assert resp.raw_body == _chunks(*pieces)
        if BACKEND == "waitron":  # README: chunked responses persist
            assert resp.header("Connection") is None
            again = c.request("GET", path, body=LETTERS)
            assert again.raw_body == _chunks(*pieces)
        else:
            c.assert_closed()


def test_http11_one_item_list_gets_a_length_and_persists(shared_server):
    server = shared_server("nocl:app")
    with server.connect() as c:
        for _ in range(2):
            resp = c.request("GET", "/list", body=LETTERS)
            assert (resp.version, resp.status) == ("HTTP/1.1", 200)
            assert resp.header("Content-Length") == str(len(LETTERS))
            assert resp.body == LETTERS


def test_http11_empty_list_is_an_empty_body(shared_server):
    server = shared_server("nocl:app")
    with server.connect() as c:
        resp = c.request("GET", "/empty")
        assert resp.status == 200
        assert resp.body == b""


# --- WriteCallbackTests ------------------------------------------------------------------

def test_write_short_body_closes(shared_server):
    server = shared_server("writecb:app")
    with server.connect() as c:
        request = request_bytes("GET", "/short_body", KEEP_ALIVE_10, version="HTTP/1.0")
        c.send(request)
        resp = c.read_response(allow_incomplete=True)
        assert (resp.version, resp.status) == ("HTTP/1.0", 200)
        assert resp.header("Content-Length") == "10"
        assert resp.body == b"x" * 9
        c.assert_closed(resend=request)


@pytest.mark.parametrize("path", ["/long_body", "/equal_body"])
def test_write_long_or_equal_body_is_cut_at_the_length_and_persists(shared_server, path):
    server = shared_server("writecb:app")
    with server.connect() as c:
        for _ in range(2):
            resp = c.request("GET", path, KEEP_ALIVE_10, version="HTTP/1.0")
            assert (resp.version, resp.status) == ("HTTP/1.0", 200)
            assert resp.header("Content-Length") == "10"
            assert resp.body == b"x" * 10
        assert c.stays_open()


def test_write_without_length_on_http10_closes(shared_server):
    server = shared_server("writecb:app")
    with server.connect() as c:
        request = request_bytes("GET", "/no_content_length", KEEP_ALIVE_10, version="HTTP/1.0")
        c.send(request)
        resp = c.read_response()
        assert resp.status == 200
        assert resp.header("Content-Length") is None
        assert resp.body == b"x" * 10
        c.assert_closed(resend=request)


# --- TooLargeTests -----------------------------------------------------------------------

@pytest.fixture
def toolarge(shared_server):
    return shared_server("toolarge:app", max_request_header_size=1000,
                        max_request_body_size=1000)


def test_request_headers_too_large_is_a_431_on_an_http10_line(toolarge):
    data = (b"GET / HTTP/1.1\r\nContent-Length: 0\r\n"
            + b"X-Random-Header: 100\r\n" * (TOOBIG // 20) + b"\r\n")
    with toolarge.connect() as c:
        c.send(data)
        resp = c.read_response()
        assert_error(resp, 431)
        assert resp.reason == "Request Header Fields Too Large"
        assert b"exceeds max_header of 1000" in resp.body
        c.assert_closed()


@pytest.mark.parametrize("head", [
    b"GET / HTTP/1.0\r\nContent-Length: 5\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n",
    b"GET / HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
    b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
], ids=["wrong_cl_http10", "no_cl_http10", "wrong_cl_http11_close", "no_cl_http11_close"])
def test_extra_bytes_after_a_closing_request_are_discarded(toolarge, head):
    data = head + b"a" * TOOBIG
    with toolarge.connect() as c:
        c.send(data)
        resp = c.read_response()
        assert resp.status == 200
        assert int(resp.header("Content-Length")) == len(resp.body)
        c.assert_closed(resend=data)


@pytest.mark.parametrize("head, version", [
    (b"GET / HTTP/1.0\r\nContent-Length: 5\r\nConnection: Keep-Alive\r\n\r\n", "HTTP/1.0"),
    (b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "HTTP/1.0"),
    (b"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", "HTTP/1.1"),
    (b"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1"),
], ids=["wrong_cl_http10_keepalive", "no_cl_http10_keepalive", "wrong_cl_http11",
        "no_cl_http11"])
def test_extra_bytes_on_a_persistent_connection_are_a_431(toolarge, head, version):
    data = head + b"a" * TOOBIG
    with toolarge.connect() as c:
        c.send(data)
        resp = c.read_response()
        assert (resp.version, resp.status) == (version, 200)
        assert int(resp.header("Content-Length")) == len(resp.body)
        resp = c.read_response()
        assert_error(resp, 431)
        c.assert_closed(resend=data)


def test_chunked_body_too_large_is_a_413(toolarge):
    data = (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            + (b"20\r\n" + LINE32 + b"\r\n") * (TOOBIG // len(LINE32) + 1))
    with toolarge.connect() as c:
        c.send(data)
        resp = c.read_response()
        assert_error(resp, 413, "HTTP/1.1")
        assert resp.reason == "Request Entity Too Large"
        assert resp.header("Content-Type") == "text/plain; charset=utf-8"
        assert b"exceeds max_body of 1000" in resp.body
        c.assert_closed(resend=data)


@pytest.mark.parametrize("length, status", [(999, 200), (1000, 413)])
def test_content_length_at_the_limit_is_a_413(toolarge, length, status):
    with toolarge.connect() as c:
        c.send(request_bytes("POST", "/", [("Content-Length", str(length))]))
        if status == 200:
            c.send(b"b" * length)
        resp = c.read_response()
        assert resp.status == status
        if status == 413:
            assert_error(resp, 413, "HTTP/1.1")
            c.assert_closed()


@pytest.mark.waitron_only
def test_empty_chunk_extension_is_a_400(toolarge):
    # waitress's chunked 413 test sends "20;": RFC 9112 §7.1.1 wants a name after ";".
    data = b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n20;\r\n" + LINE32 + b"\r\n"
    with toolarge.connect() as c:
        c.send(data)
        resp = c.read_response()
        assert_error(resp, 400, "HTTP/1.1")
        assert b"Invalid chunk extension" in resp.body
        c.assert_closed()
