"""Tests of the package's public API: serve() and serve_paste() with a fake ``_server``
(waitress's init tests), and create_server() and the server classes of waitron.server
over real sockets.
"""

import logging
import os
import socket
import threading
import urllib.request

import pytest

import waitron
from waitron import _waitron
from waitron import server as server_module
from waitron.server import (
    MultiSocketServer,
    TcpWSGIServer,
    UnixWSGIServer,
    WSGIServer,
    create_server,
)
from waitron.utilities import cleanup_unix_socket

from conftest import Running


class FakeServer:
    def __init__(self, app, **kw):
        self.app = app
        self.kw = kw
        self.listened = []
        self.ran = False

    def print_listen(self, format_str):
        self.listened.append(format_str)

    def run(self):
        self.ran = True


class FakeFactory:
    def __init__(self):
        self.server = None

    def __call__(self, app, **kw):
        self.server = FakeServer(app, **kw)
        return self.server


def hello_app(environ, start_response):
    body = "{} {}".format(environ["REMOTE_ADDR"], environ.get("HTTP_X_FORWARDED_FOR", "-")).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def test_serve():
    factory = FakeFactory()
    assert waitron.serve(hello_app, _server=factory, _quiet=True, port="80") is None
    assert factory.server.app is hello_app
    assert factory.server.kw == {"port": "80"}
    assert factory.server.ran
    assert factory.server.listened == []


def test_serve_prints_the_banner():
    factory = FakeFactory()
    waitron.serve(hello_app, _server=factory)
    assert factory.server.listened == ["Serving on http://{}:{}"]
    assert factory.server.ran


def test_serve_paste():
    factory = FakeFactory()
    status = waitron.serve_paste(
        hello_app, {"here": "/"}, _server=factory, _quiet=True, threads="2"
    )
    assert status == 0
    assert factory.server.kw == {"threads": "2"}
    assert factory.server.ran


def test_public_names():
    assert waitron.__version__ == "0.1.0"
    for name in waitron.__all__:
        assert hasattr(waitron, name)
    assert waitron.create_server is create_server
    assert WSGIServer is TcpWSGIServer


def test_create_server_app_is_none():
    with pytest.raises(ValueError) as info:
        create_server(None)
    assert str(info.value) == (
        'The "app" passed to ``create_server`` was ``None``.  You forgot to return a WSGI '
        "app within your application."
    )


# ---- real servers ------------------------------------------------------------------------

needs_server = pytest.mark.skipif(not hasattr(_waitron, "Server"), reason="no _waitron.Server yet")


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


def url(host, port, path="/"):
    return "http://{}:{}{}".format("[{}]".format(host) if ":" in host else host, port, path)


def get(target, headers=None):
    request = urllib.request.Request(target, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


@needs_server
def test_create_server_one_tcp_socket():
    server = create_server(hello_app, host="127.0.0.1", port=0)
    try:
        assert type(server) is TcpWSGIServer
        host, port = server.socket.getsockname()
        assert (server.effective_host, server.effective_port) == ("127.0.0.1", str(port))
        assert server.getsockname() == ("127.0.0.1", str(port))
        assert server.family == socket.AF_INET
        assert server.sockinfo[3] == ("127.0.0.1", port)
        assert server.server_name == "waitress.invalid"
        assert server.adj.threads == 4
        # The application is wrapped in the proxy-header middleware.
        assert server.application is not hello_app
    finally:
        server.close()


@needs_server
def test_serves_and_clears_untrusted_proxy_headers():
    server = create_server(hello_app, host="127.0.0.1", port=0)
    with Running(server):
        status, body = get(url("127.0.0.1", server.effective_port), {"X-Forwarded-For": "10.9.9.9"})
    assert status == 200
    assert body == "127.0.0.1 -"


@needs_server
def test_trusted_proxy_headers_applied():
    server = create_server(
        hello_app, listen="127.0.0.1:0", trusted_proxy="*", trusted_proxy_headers="x-forwarded-for"
    )
    with Running(server):
        target = url("127.0.0.1", server.effective_port)
        status, body = get(target, {"X-Forwarded-For": "10.0.0.1, 10.9.9.9"})
    assert body == "10.9.9.9 10.9.9.9"


@needs_server
def test_create_server_several_sockets(caplog):
    listen = "127.0.0.1:0 127.0.0.1:0"
    if has_ipv6_loopback():
        listen += " [::1]:0"
    server = create_server(hello_app, listen=listen)
    with Running(server):
        assert type(server) is MultiSocketServer
        assert not hasattr(server, "socket")
        assert len(server.effective_listen) == len(listen.split())
        for host, port in server.effective_listen:
            assert isinstance(port, str)
            assert get(url(host, port))[0] == 200
        with caplog.at_level(logging.INFO, logger="waitron"):
            server.print_listen("Serving on http://{}:{}")
    lines = [r.getMessage() for r in caplog.records if r.name == "waitron"]
    assert lines == ["Serving on " + url(h, p).rstrip("/") for h, p in server.effective_listen]


@needs_server
def test_print_listen_brackets_a_single_ipv6_host(caplog):
    if not has_ipv6_loopback():
        pytest.skip("no IPv6 loopback")
    server = create_server(hello_app, listen="[::1]:0")
    try:
        with caplog.at_level(logging.INFO, logger="waitron"):
            server.print_listen("Serving on http://{}:{}")
        expected = "Serving on http://[::1]:{}".format(server.effective_port)
        assert caplog.records[-1].getMessage() == expected
    finally:
        server.close()


@needs_server
def test_create_server_unix_socket(tmp_path, caplog):
    path = str(tmp_path / "w.sock")
    server = create_server(hello_app, unix_socket=path, unix_socket_perms="660")
    try:
        assert type(server) is UnixWSGIServer
        assert server.socket.getsockname() == path
        assert server.getsockname() == ("unix", path)
        assert (server.effective_host, server.effective_port) == ("unix", path)
        assert os.stat(path).st_mode & 0o777 == 0o660
        with caplog.at_level(logging.INFO, logger="waitron"):
            server.print_listen("Serving on http://{}:{}")
        assert caplog.records[-1].getMessage() == "Serving on http://unix:" + path
    finally:
        server.close()
        cleanup_unix_socket(path)


@needs_server
def test_tcp_server_constructed_directly_binds_one_socket():
    server = TcpWSGIServer(hello_app, host="localhost", port=0)
    try:
        assert len(server._core.server.addresses()) == 1
        host, port = server.socket.getsockname()[:2]
        assert str(port) == server.effective_port
    finally:
        server.close()


@needs_server
def test_unix_server_constructed_directly(tmp_path):
    path = str(tmp_path / "direct.sock")
    server = UnixWSGIServer(hello_app, unix_socket=path, trusted_proxy="localhost",
                            trusted_proxy_headers={"x-forwarded-for"})
    try:
        assert server.socket.getsockname() == path
        assert server.adj.trusted_proxy == "localhost"
    finally:
        server.close()
        cleanup_unix_socket(path)


def test_unix_server_needs_a_path():
    if not hasattr(_waitron, "make_adjustments"):
        pytest.skip("no _waitron.make_adjustments yet")
    with pytest.raises(ValueError, match="unix_socket"):
        UnixWSGIServer(hello_app)


@needs_server
def test_close_from_another_thread_ends_run_and_frees_the_port():
    server = TcpWSGIServer(hello_app, host="127.0.0.1", port=0)
    port = int(server.effective_port)
    thread = threading.Thread(target=server.run)
    thread.start()
    assert get(url("127.0.0.1", port))[0] == 200
    closer = threading.Thread(target=server.close)
    closer.start()
    closer.join(15)
    thread.join(15)
    assert not thread.is_alive()
    server.close()  # idempotent
    assert server.socket.fileno() == -1
    with socket.socket() as sock:
        # SO_REUSEADDR ignores TIME_WAIT, not a socket still listening on the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(1)


@needs_server
def test_create_server_on_prebound_sockets():
    with socket.socket() as first, socket.socket() as second:
        for sock in (first, second):
            sock.bind(("127.0.0.1", 0))
        server = create_server(hello_app, sockets=[first, second])
        with Running(server):
            assert type(server) is MultiSocketServer
            ports = sorted(int(port) for _, port in server.effective_listen)
            assert ports == sorted(sock.getsockname()[1] for sock in (first, second))
            for port in ports:
                assert get(url("127.0.0.1", port))[0] == 200
        # As in waitress, closing the server closes the sockets it was given.
        assert first.fileno() == -1 and second.fileno() == -1


@needs_server
def test_prebound_sockets_stay_usable_if_the_server_is_dropped():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        server = create_server(hello_app, sockets=[sock])
        del server
        assert sock.fileno() != -1
        sock.getsockname()


@needs_server
def test_bad_option_raises_before_binding():
    with pytest.raises(ValueError, match="Unknown adjustment 'nope'"):
        create_server(hello_app, nope=1)


@needs_server
def test_port_in_use_raises_oserror():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        with pytest.raises(OSError):
            create_server(hello_app, host="127.0.0.1", port=taken.getsockname()[1])


@needs_server
def test_serve_runs_until_closed():
    servers = []

    def factory(app, **kw):
        servers.append(create_server(app, **kw))
        return servers[-1]

    thread = threading.Thread(
        target=waitron.serve, args=(hello_app,),
        kwargs=dict(_server=factory, _quiet=True, listen="127.0.0.1:0"),
    )
    thread.start()
    try:
        for _ in range(500):
            if servers:
                break
            threading.Event().wait(0.01)
        assert get(url("127.0.0.1", servers[0].effective_port))[0] == 200
    finally:
        servers[0].close()
        thread.join(15)
    assert not thread.is_alive()


def test_server_module_names():
    for name in ("create_server", "BaseWSGIServer", "TcpWSGIServer", "UnixWSGIServer",
                 "MultiSocketServer", "WSGIServer"):
        assert hasattr(server_module, name)
