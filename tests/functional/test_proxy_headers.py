"""Proxy headers for native apps: the fixture App sees what waitress's rules make of them.

Each test runs over TCP (the peer is 127.0.0.1) and a Unix socket (the peer is
"localhost", the address waitress gives Unix peers), so the trusted proxy is the peer's
address of the transport.
"""
import pytest

from conftest import build_request

FORWARDED_FIELDS = [
    ("X-Forwarded-For", "192.0.2.1, 198.51.100.7:5555"),
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Host", "shop.example"),
    ("X-Forwarded-Port", "8443"),
    ("Forwarded", "for=203.0.113.9"),
]
TRUSTED = "--trusted-proxy-headers=x-forwarded-for x-forwarded-proto x-forwarded-host"


def peer_address(transport) -> str:
    return "127.0.0.1" if transport == "tcp" else "localhost"


def environ_of(server, target="/environ", headers=()):
    resp = server.request("GET", target, headers=headers)
    assert resp.status == 200, resp
    return dict(line.split("=", 1) for line in resp.body.decode("latin-1").splitlines())


def test_trusted_proxy_rewrites_what_the_app_sees(start_server, transport):
    server = start_server(f"--trusted-proxy={peer_address(transport)}", TRUSTED)
    environ = environ_of(server, headers=FORWARDED_FIELDS)
    assert environ["REMOTE_ADDR"] == "198.51.100.7"
    assert environ["REMOTE_HOST"] == "198.51.100.7"
    assert environ["REMOTE_PORT"] == "5555"
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["SERVER_NAME"] == "shop.example"
    assert environ["SERVER_PORT"] == "443"
    assert environ["HTTP_HOST"] == "shop.example"
    # Only the trusted right-most entry is left; the untrusted headers are gone.
    assert environ["HTTP_X_FORWARDED_FOR"] == "198.51.100.7:5555"
    assert "HTTP_X_FORWARDED_PORT" not in environ
    assert "HTTP_FORWARDED" not in environ

    echo = server.request("GET", "/echo", headers=FORWARDED_FIELDS)
    assert echo.header("X-Remote-Addr") == "198.51.100.7"
    assert echo.header("X-Remote-Port") == "5555"

    fields = server.request("GET", "/headers", headers=FORWARDED_FIELDS).body.decode().splitlines()
    assert fields == ["Host: localhost", "X-Forwarded-For: 198.51.100.7:5555",
                      "X-Forwarded-Proto: https", "X-Forwarded-Host: shop.example"]


def test_trusted_proxy_count_keeps_that_many_hops(start_server, transport):
    server = start_server(f"--trusted-proxy={peer_address(transport)}", "--trusted-proxy-count=2",
                          "--trusted-proxy-headers=x-forwarded-for")
    environ = environ_of(server, headers=[("X-Forwarded-For", "6.6.6.6, 192.0.2.1, 10.0.0.5")])
    assert environ["REMOTE_ADDR"] == "192.0.2.1"
    assert environ["HTTP_X_FORWARDED_FOR"] == "192.0.2.1, 10.0.0.5"


def test_forwarded_header(start_server, transport):
    server = start_server(f"--trusted-proxy={peer_address(transport)}",
                          "--trusted-proxy-headers=forwarded")
    environ = environ_of(server, headers=[
        ("Forwarded", 'for="[2001:db8::1]:3821";host=example.com:8443;proto=https'),
        ("X-Forwarded-For", "6.6.6.6")])
    assert environ["REMOTE_ADDR"] == "2001:db8::1"
    assert environ["REMOTE_PORT"] == "3821"
    assert environ["SERVER_NAME"] == "example.com"
    assert environ["SERVER_PORT"] == "8443"
    assert environ["HTTP_HOST"] == "example.com:8443"
    assert environ["wsgi.url_scheme"] == "https"
    assert "HTTP_X_FORWARDED_FOR" not in environ


def test_defaults_remove_every_proxy_header(server, transport):
    environ = environ_of(server, headers=FORWARDED_FIELDS + [("X-Forwarded-By", "p")])
    assert environ["REMOTE_ADDR"] == peer_address(transport)
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["HTTP_HOST"] == "localhost"
    assert not [key for key in environ if "FORWARDED" in key]
    fields = server.request("GET", "/headers", headers=FORWARDED_FIELDS).body.decode()
    assert fields == "Host: localhost\n"


def test_an_untrusted_peer_cannot_spoof(start_server, transport):
    server = start_server("--trusted-proxy=192.0.2.200", TRUSTED)
    environ = environ_of(server, headers=FORWARDED_FIELDS)
    assert environ["REMOTE_ADDR"] == peer_address(transport)
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["SERVER_NAME"] == "waitress.invalid"
    assert not [key for key in environ if "FORWARDED" in key]


def test_clearing_off_passes_untrusted_headers_through(start_server, transport):
    server = start_server("--no-clear-untrusted-proxy-headers")
    environ = environ_of(server, headers=[("X-Forwarded-For", "6.6.6.6")])
    assert environ["HTTP_X_FORWARDED_FOR"] == "6.6.6.6"
    assert environ["REMOTE_ADDR"] == peer_address(transport)


def test_log_untrusted_proxy_headers(start_server):
    server = start_server("--log-untrusted-proxy-headers")
    environ_of(server, headers=[("X-Forwarded-Host", "evil"), ("Forwarded", "for=x")])
    assert server.wait_for_log(
        "WARNING:waitron:Removed untrusted headers (Forwarded, X-Forwarded-Host). "
        "Waitron recommends these be removed upstream.")


@pytest.mark.parametrize("version", ["HTTP/1.1", "HTTP/1.0"])
def test_malformed_trusted_header_is_waitress_400(start_server, transport, version):
    server = start_server(f"--trusted-proxy={peer_address(transport)}", TRUSTED)
    with server.connect() as client:
        client.send(build_request("GET", "/environ", headers=[("X-Forwarded-Proto", "gopher")],
                                  version=version))
        resp = client.read_response()
        if version == "HTTP/1.1":
            # The length is known, so the connection stays open, as with waitress (whose
            # WSGI task gives a one-chunk response its Content-Length).
            client.send(build_request("GET", "/environ", version=version))
            assert client.read_response().status == 200
    assert resp.status == 400
    assert resp.header("Content-Type") == "text/plain; charset=utf-8"
    assert resp.body == (b'Bad Request\r\n\r\nHeader "X-Forwarded-Proto" malformed.\r\n\r\n'
                         b"(generated by server)")
    assert resp.header("Content-Length") == str(len(resp.body))
    assert not resp.chunked
    assert server.wait_for_log(
        f'WARNING:waitron:Malformed proxy header "X-Forwarded-Proto" from '
        f'"{peer_address(transport)}": unsupported proto value value: gopher')


def test_url_prefix_with_a_trusted_proxy(start_server, transport):
    server = start_server(f"--trusted-proxy={peer_address(transport)}", TRUSTED,
                          "--url-prefix=/app")
    environ = environ_of(server, "/app/environ?x=1", headers=FORWARDED_FIELDS)
    assert environ["SCRIPT_NAME"] == "/app"
    assert environ["PATH_INFO"] == "/environ"
    assert environ["QUERY_STRING"] == "x=1"
    assert environ["REMOTE_ADDR"] == "198.51.100.7"
    assert environ["wsgi.url_scheme"] == "https"
    # A miss keeps the path whole, and SCRIPT_NAME is still the prefix (waitress).
    miss = environ_of(server, "/environ", headers=FORWARDED_FIELDS)
    assert (miss["SCRIPT_NAME"], miss["PATH_INFO"]) == ("/app", "/environ")
    assert miss["SERVER_NAME"] == "shop.example"
