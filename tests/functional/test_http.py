"""HTTP/1.1 on the wire: persistence, pipelining, chunked uploads, 100-continue, errors.

Each test runs over TCP and over a Unix socket (the `transport` fixture).
"""
import re

from conftest import build_request

ERROR_FIELDS = ["Connection", "Content-Length", "Content-Type", "Date", "Server"]
DATE = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT")


def check_echo(resp, body, method="POST", query=""):
    assert resp.status == 200, resp
    assert resp.body == body
    assert resp.header("X-Method") == method
    assert resp.header("X-Path") == "/echo"
    assert resp.header("X-Query") == query
    assert resp.header("X-Body-Length") == str(len(body))
    assert resp.header("Content-Length") == str(len(body))


# --- 1. keep-alive ---------------------------------------------------------------------------

def test_http11_keeps_the_connection_open(server, transport):
    with server.connect() as client:
        for i in range(3):
            body = f"request {i}".encode()
            resp = client.request("POST", f"/echo?i={i}", body)
            check_echo(resp, body, query=f"i={i}")
            assert resp.version == "HTTP/1.1"
            assert resp.header("Connection") is None  # persistent: no Connection field
            assert resp.header("X-Http-Minor") == "1"
            assert resp.header("Server") == "waitron"
            assert DATE.fullmatch(resp.header("Date"))
        if transport == "tcp":
            assert resp.header("X-Remote-Addr") == "127.0.0.1"
            assert int(resp.header("X-Remote-Port")) > 0
        else:
            assert resp.header("X-Remote-Addr") == "localhost"
            assert resp.header("X-Remote-Port") == "none"
        assert not client.closed_by_server(0.2)


def test_http10_keep_alive_is_honoured(server):
    with server.connect() as client:
        for i in range(3):
            resp = client.request("POST", "/echo", b"ten", headers=[("Connection", "keep-alive")],
                                  version="HTTP/1.0")
            check_echo(resp, b"ten")
            assert resp.version == "HTTP/1.0"
            assert resp.header("Connection") == "Keep-Alive"
            assert resp.header("X-Http-Minor") == "0"
        assert not client.closed_by_server(0.2)


def test_http10_without_keep_alive_closes(server):
    with server.connect() as client:
        resp = client.request("GET", "/echo", version="HTTP/1.0")
        check_echo(resp, b"", method="GET")
        assert resp.header("Connection") == "close"
        assert client.closed_by_server(5)


def test_connection_close_closes_after_the_response(server):
    with server.connect() as client:
        resp = client.request("POST", "/echo", b"last", headers=[("Connection", "close")])
        check_echo(resp, b"last")
        assert resp.header("Connection") == "close"
        assert client.closed_by_server(5)


def test_chunked_response_to_http11_is_framed_and_persists(server):
    with server.connect() as client:
        resp = client.request("GET", "/chunked?n=5")
        assert resp.status == 200
        assert resp.chunked and resp.complete
        assert resp.header("Content-Length") is None
        assert resp.body == b"".join(f"chunk-{i}\n".encode() for i in range(5))
        # waitron keeps a chunked response's connection (README: differs from waitress).
        check_echo(client.request("POST", "/echo", b"after"), b"after")


def test_http10_response_without_length_ends_at_the_close(server):
    with server.connect() as client:
        resp = client.request("GET", "/chunked?n=3", version="HTTP/1.0",
                              headers=[("Connection", "keep-alive")])
        assert resp.status == 200
        assert not resp.chunked
        assert resp.header("Connection") == "close"
        assert resp.body == b"chunk-0\nchunk-1\nchunk-2\n"


def test_requests_pipelined_after_connection_close_are_dropped(server):
    with server.connect() as client:
        client.send(build_request("GET", "/echo?n=1", headers=[("Connection", "close")])
                    + build_request("GET", "/echo?n=2"))
        resp = client.read_response()
        assert resp.header("X-Query") == "n=1"
        assert client.read_until_eof() == b""


def test_head_response_has_length_but_no_body(server):
    with server.connect() as client:
        resp = client.request("HEAD", "/bytes?size=1000")
        assert resp.status == 200
        assert resp.header("Content-Length") == "1000"
        # No body bytes follow: the next response starts right away.
        check_echo(client.request("POST", "/echo", b"next"), b"next")


# --- 2. pipelining ---------------------------------------------------------------------------

def test_ten_pipelined_requests_are_answered_in_order(server):
    requests = []
    for i in range(10):
        if i % 3 == 0:
            requests.append(build_request("POST", f"/echo?n={i}", f"body-{i}".encode() * (i + 1)))
        elif i % 3 == 1:
            requests.append(build_request("GET", f"/echo?n={i}"))
        else:
            requests.append(build_request("GET", f"/chunked?n={i}"))
    with server.connect() as client:
        client.send(b"".join(requests))
        for i in range(10):
            resp = client.read_response()
            assert resp.status == 200
            if i % 3 == 0:
                check_echo(resp, f"body-{i}".encode() * (i + 1), query=f"n={i}")
            elif i % 3 == 1:
                check_echo(resp, b"", method="GET", query=f"n={i}")
            else:
                assert resp.body == b"".join(f"chunk-{k}\n".encode() for k in range(i))
        assert not client.closed_by_server(0.2)


# --- 3. chunked upload -----------------------------------------------------------------------

def test_chunked_upload_is_decoded(server):
    pieces = [b"hello ", b"chunked ", b"x" * 70000, b"world"]
    wire = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces[:2])
    wire += b"%x;ext=1;flag\r\n%s\r\n" % (len(pieces[2]), pieces[2])
    wire += b"%X\r\n%s\r\n" % (len(pieces[3]), pieces[3])
    wire += b"0\r\nX-Trailer: ignored\r\n\r\n"
    body = b"".join(pieces)
    with server.connect() as client:
        client.send(build_request("POST", "/echo", headers=[("Transfer-Encoding", "chunked")]))
        # In two sends, split inside a chunk-size line.
        client.send(wire[:9])
        client.send(wire[9:])
        check_echo(client.read_response(), body)
        # The connection goes on; the decoded length reaches the app as CONTENT_LENGTH.
        client.send(build_request("POST", "/environ", headers=[("Transfer-Encoding", "chunked")])
                    + b"3\r\nabc\r\n0\r\n\r\n")
        environ = client.read_response().body.decode()
        assert "CONTENT_LENGTH=3\n" in environ
        assert "TRANSFER_ENCODING" not in environ


# --- 4. 100-continue -------------------------------------------------------------------------

def test_expect_100_continue_comes_before_the_body(server):
    body = b"continued body"
    with server.connect() as client:
        client.send(build_request("POST", "/echo", headers=[
            ("Expect", "100-continue"), ("Content-Length", str(len(body)))]))
        interim = client.read_response()
        assert (interim.version, interim.status, interim.reason) == ("HTTP/1.1", 100, "Continue")
        assert interim.headers == []
        client.send(body)
        check_echo(client.read_response(), body)


def test_expect_100_continue_without_body_is_served_at_once(server):
    # waitress sends 100 and then hangs; waitron answers (README).
    with server.connect() as client:
        client.send(build_request("GET", "/echo", headers=[("Expect", "100-continue")]))
        check_echo(client.read_response(), b"", method="GET")


# --- 12. errors ------------------------------------------------------------------------------

def test_exception_before_start_is_a_500(server):
    with server.connect() as client:
        resp = client.request("GET", "/error-before")
        assert (resp.version, resp.status, resp.reason) == ("HTTP/1.1", 500, "Internal Server Error")
        assert sorted(resp.header_names()) == ERROR_FIELDS
        assert resp.header("Connection") == "close"
        assert resp.body == (b"Internal Server Error\r\n\r\n"
                             b"The server encountered an unexpected internal server error\r\n\r\n"
                             b"(generated by waitron)")
        assert client.closed_by_server(5)
    assert server.wait_for_log("ERROR:waitron:Exception while serving /error-before")
    assert "boom" in server.stderr_text()


def test_exception_after_the_head_cuts_the_connection(server):
    with server.connect() as client:
        client.send(build_request("GET", "/error-after"))
        resp = client.read_response(allow_incomplete=True)
        assert resp.status == 200
        assert resp.chunked
        assert not resp.complete, "the chunked body must not be terminated"
        assert resp.body == b"partial"
        assert client.closed_by_server(5)
    assert server.wait_for_log("Exception while serving /error-after")


def test_duplicate_host_is_a_400_with_the_error_fields(server):
    with server.connect() as client:
        client.send(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        resp = client.read_response()
        assert (resp.version, resp.status, resp.reason) == ("HTTP/1.1", 400, "Bad Request")
        assert sorted(resp.header_names()) == ERROR_FIELDS
        assert resp.header("Connection") == "close"
        assert resp.header("Content-Length") == str(len(resp.body))
        assert resp.body.startswith(b"Bad Request\r\n\r\nDuplicate header")
        assert resp.body.endswith(b"\r\n\r\n(generated by waitron)")
        assert client.closed_by_server(5)


def test_bytes_after_a_bad_request_are_never_parsed(server):
    with server.connect() as client:
        client.send(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"
                    + build_request("GET", "/echo?smuggled=1"))
        assert client.read_response().status == 400
        assert client.read_until_eof() == b""


def test_oversized_body_gets_413_not_a_reset(start_server):
    server = start_server("--max-request-body-size=1000")
    with server.connect() as client:
        client.send(build_request("POST", "/echo", b"z" * 100000))
        resp = client.read_response()
        assert (resp.status, resp.reason) == (413, "Request Entity Too Large")
        assert sorted(resp.header_names()) == ERROR_FIELDS
        assert resp.body == (b"Request Entity Too Large\r\n\r\nexceeds max_body of 1000\r\n\r\n"
                             b"(generated by waitron)")
        assert client.closed_by_server(5)


def test_oversized_body_with_expect_gets_413_without_100(start_server):
    server = start_server("--max-request-body-size=1000")
    with server.connect() as client:
        client.send(build_request("POST", "/echo", headers=[
            ("Expect", "100-continue"), ("Content-Length", "100000")]))
        resp = client.read_response()
        assert resp.status == 413
        assert client.closed_by_server(5)


def test_environ_and_headers(server, transport):
    with server.connect() as client:
        resp = client.request("GET", "/%65nviron?a=%20b&c", headers=[
            ("X-Multi", "1"), ("x-multi", "2"), ("X_Spoofed", "dropped"), ("Content-Type", "text/x")])
        environ = dict(line.split("=", 1) for line in resp.body.decode().splitlines())
        assert environ["REQUEST_METHOD"] == "GET"
        assert environ["PATH_INFO"] == "/environ"
        assert environ["QUERY_STRING"] == "a=%20b&c"
        assert environ["REQUEST_URI"] == "/%65nviron?a=%20b&c"
        assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
        assert environ["SERVER_SOFTWARE"] == "waitron"
        assert environ["SCRIPT_NAME"] == ""
        assert environ["HTTP_X_MULTI"] == "1, 2"
        assert environ["CONTENT_TYPE"] == "text/x"
        assert environ["HTTP_HOST"] == "localhost"
        assert not any("SPOOFED" in key for key in environ)
        if transport == "tcp":
            assert environ["SERVER_PORT"] == str(server.address[1])
            assert environ["REMOTE_ADDR"] == "127.0.0.1"
            assert int(environ["REMOTE_PORT"]) > 0
        else:
            assert environ["SERVER_PORT"] == server.address  # waitress: the socket's path
            assert environ["REMOTE_ADDR"] == "localhost"
            assert environ["REMOTE_PORT"] == "None"

        resp = client.request("GET", "/headers", headers=[("X-Multi", "1"), ("x-multi", "2"),
                                                          ("X_Spoofed", "dropped")])
        assert resp.body == b"Host: localhost\nX-Multi: 1\nx-multi: 2\n"


def test_unknown_path_is_404(server):
    resp = server.request("GET", "/nowhere")
    assert resp.status == 404
    assert resp.body == b"Not Found\n"
