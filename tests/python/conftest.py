"""Machinery of the WSGI suite (test_wsgi_*.py): real server processes and a raw HTTP client.

Every behaviour test gets a server process of its own (``start_server``), or one shared by
the tests of its module that ask for the same app and options (``shared_server``; each
test still checks that it left the server running and without a new traceback). The
process is fixtureapps/launch.py run by /usr/bin/python3: it constructs
``waitron.server.TcpWSGIServer(app, host="127.0.0.1", port=0, **kw)`` or
``UnixWSGIServer(app, unix_socket=path, **kw)``, prints the bound address as one JSON
line on stdout and calls ``run()``. The parent reads that line with
select() and a deadline (nothing sleeps to synchronise), talks raw HTTP/1.x over the
socket, and at teardown sends SIGTERM, waits at most 10 s, and fails the test unless the
process exited with status 0 and printed no Python traceback (tests that provoke one say
so with ``expect_traceback=True``).

The ``transport`` fixture runs a test once per transport: ids "tcp" and "unix".

Every fixture here is opt-in (no autouse), so the package's own tests in this folder
(test_proxy_headers.py, test_adjustments_py.py, ...) are unaffected.

WAITRON_TEST_BACKEND=waitress runs the same suite against waitress (a development aid to
tell a test's mistake from a server's; waitron-only behaviour is marked ``waitron_only``).

Only the standard library and pytest.
"""
from __future__ import annotations

import errno
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
LAUNCHER = HERE / "fixtureapps" / "launch.py"
PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
BACKEND = os.environ.get("WAITRON_TEST_BACKEND", "waitron")
IDENT = "waitron" if BACKEND == "waitron" else "waitress"
READY_TIMEOUT = 10.0  # seconds for the address line
STOP_TIMEOUT = 10.0  # seconds for a clean exit after SIGTERM
SOCKET_TIMEOUT = 10.0  # every client socket operation
ERROR_FIELDS = ["connection", "content-length", "content-type", "date", "server"]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "waitron_only: behaviour where waitron differs from waitress on purpose")


def pytest_collection_modifyitems(config, items):
    if BACKEND == "waitron":
        return
    skip = pytest.mark.skip(reason="waitron's own behaviour (WAITRON_TEST_BACKEND=waitress)")
    for item in items:
        if "waitron_only" in item.keywords:
            item.add_marker(skip)


def tmp_root() -> str:
    root = os.environ.get("WAITRON_TEST_TMPDIR") or tempfile.gettempdir()
    os.makedirs(root, exist_ok=True)
    return root


# --- the raw HTTP client --------------------------------------------------------------------

class ConnectionClosed(Exception):
    """The server closed the connection before a complete message arrived."""


@dataclass
class Response:
    version: str
    status: int
    reason: str
    headers: list = field(default_factory=list)  # [(name, value)] as received
    body: bytes = b""
    raw_body: bytes = b""  # the bytes on the wire after the head (chunk framing included)
    complete: bool = True  # False: the connection closed inside the body

    def header(self, name: str):
        """The value of the field `name` (case-insensitive), None if absent; a repeated
        field fails the test (waitress's read_http has the same rule)."""
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        assert len(values) <= 1, f"{name} repeated: {self.headers}"
        return values[0] if values else None

    def names(self) -> list:
        return sorted(k.lower() for k, _ in self.headers)

    def json(self):
        return json.loads(self.body)


def request_bytes(method="GET", target="/", headers=(), body=b"", version="HTTP/1.1",
                  content_length=True) -> bytes:
    """A request head (and body). Content-Length is added for a non-empty body unless
    `headers` frame it or content_length is False."""
    lines = [f"{method} {target} {version}"]
    lines += [f"{k}: {v}" for k, v in headers]
    framed = any(k.lower() in ("content-length", "transfer-encoding") for k, _ in headers)
    if body and content_length and not framed:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body


def chunked(*pieces: bytes) -> bytes:
    """A chunked body: one chunk per piece, then the last chunk."""
    return b"".join(b"%X\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


class Client:
    """One connection: raw bytes out, HTTP/1.x responses in. Every wait is bounded."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def send(self, data: bytes):
        self.sock.sendall(data)

    def request(self, method="GET", target="/", headers=(), body=b"", version="HTTP/1.1"):
        self.send(request_bytes(method, target, headers, body, version))
        return self.read_response(head=(method == "HEAD"))

    def _fill(self) -> bool:
        try:
            data = self.sock.recv(262144)
        except ConnectionResetError:
            data = b""
        if not data:
            return False
        self.buf += data
        return True

    def read_line(self) -> bytes:
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[:end + 2]
                return line
            assert len(self.buf) < 1 << 20, "no CRLF in the first MiB"
            if not self._fill():
                raise ConnectionClosed(f"closed inside a line: {bytes(self.buf)!r}")

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionClosed(f"closed after {len(self.buf)} of {n} bytes")
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_until_eof(self) -> bytes:
        while self._fill():
            pass
        data = bytes(self.buf)
        self.buf.clear()
        return data

    def read_head(self) -> Response:
        line = self.read_line().decode("latin-1")
        match = re.fullmatch(r"(HTTP/\d\.\d) (\d{3}) (.*)", line)
        assert match, f"bad status line {line!r}"
        resp = Response(match[1], int(match[2]), match[3])
        while True:
            raw = self.read_line()
            if not raw:
                return resp
            name, sep, value = raw.decode("latin-1").partition(":")
            assert sep and name == name.strip() and name, f"bad field line {raw!r}"
            resp.headers.append((name, value.strip(" \t")))

    def read_response(self, head=False, allow_incomplete=False) -> Response:
        """One response; the body framed by Content-Length, chunked coding or the close.
        A 1xx response is returned alone (call again for the final one). A close inside
        the body raises ConnectionClosed, or gives complete=False with allow_incomplete."""
        resp = self.read_head()
        if head or resp.status < 200 or resp.status in (204, 304):
            return resp
        raw = bytearray()
        body = bytearray()
        try:
            if (resp.header("Transfer-Encoding") or "").lower() == "chunked":
                self._read_chunked(body, raw)
            elif resp.header("Content-Length") is not None:
                length = int(resp.header("Content-Length"))
                while len(body) < length:
                    if not self.buf and not self._fill():
                        raise ConnectionClosed(f"closed after {len(body)} of {length} bytes")
                    take = min(length - len(body), len(self.buf))
                    body += self.buf[:take]
                    del self.buf[:take]
                raw += body
            else:
                body += self.read_until_eof()
                raw += body
        except ConnectionClosed:
            if not allow_incomplete:
                raise
            resp.complete = False
            body += self.buf
            raw += self.buf
            self.buf.clear()
        resp.body, resp.raw_body = bytes(body), bytes(raw)
        return resp

    def _read_chunked(self, body: bytearray, raw: bytearray):
        while True:
            data = self.read_chunk(raw)
            if not data:
                return
            body += data

    def read_chunk(self, raw: bytearray | None = None) -> bytes:
        """One chunk of a chunked body: its data, or b"" for the last chunk (its trailer
        section read too). The framing bytes are appended to `raw`."""
        raw = bytearray() if raw is None else raw
        size_line = self.read_line()
        raw += size_line + b"\r\n"
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            while True:
                line = self.read_line()
                raw += line + b"\r\n"
                if not line:
                    return b""
        data = self.read_exact(size + 2)
        raw += data
        assert data.endswith(b"\r\n"), "chunk data not followed by CRLF"
        return data[:-2]

    def assert_closed(self, resend: bytes = b"", timeout: float = 5.0):
        """The server closed the connection: after sending `resend` (which may fail with
        EPIPE or a reset), nothing but the end of the stream arrives within `timeout`."""
        assert not self.buf, f"unexpected bytes {bytes(self.buf)!r}"
        if resend:
            try:
                self.sock.sendall(resend)
            except OSError as exc:
                assert exc.errno in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN), exc
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return
        except (socket.timeout, TimeoutError):
            raise AssertionError(f"connection still open after {timeout} s")
        finally:
            self.sock.settimeout(SOCKET_TIMEOUT)
        assert data == b"", f"connection not closed; got {data!r}"

    def stays_open(self, timeout: float = 0.1) -> bool:
        """True if the server neither closes nor sends within `timeout`."""
        if self.buf:
            return False
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return True
        except OSError:
            return False
        finally:
            self.sock.settimeout(SOCKET_TIMEOUT)
        self.buf += data
        return False


# --- server processes ------------------------------------------------------------------------

class _Drain:
    """Collects a pipe's output from a thread, so the pipe never fills."""

    def __init__(self, stream):
        self.stream = stream
        self.chunks: list[bytes] = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        fd = self.stream.fileno()
        while True:
            data = os.read(fd, 65536)
            with self.cond:
                if not data:
                    self.cond.notify_all()
                    return
                self.chunks.append(data)
                self.cond.notify_all()

    def text(self) -> str:
        with self.cond:
            return b"".join(self.chunks).decode("utf-8", "replace")

    def wait_for(self, needle: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while needle not in b"".join(self.chunks).decode("utf-8", "replace"):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.thread.is_alive():
                    return needle in b"".join(self.chunks).decode("utf-8", "replace")
                self.cond.wait(min(remaining, 0.5))
        return True

    def finish(self):
        self.thread.join(5)
        self.stream.close()


class ServerProcess:
    """fixtureapps/launch.py serving one fixture app over TCP 127.0.0.1:0 or a Unix socket."""

    def __init__(self, app: str, transport: str, workdir: str, kw: dict, validate=False,
                 warnings_error=False, expect_traceback=False, env=None):
        self.app = app
        self.transport = transport
        self.workdir = workdir
        self.expect_traceback = expect_traceback
        self.socket_path = None
        where = "tcp"
        if transport == "unix":
            self.socket_path = os.path.join(workdir, "s.sock")
            if len(self.socket_path) > 100:  # sun_path holds 108 bytes
                self.socket_path = os.path.join(tempfile.mkdtemp(prefix="w"), "s.sock")
            where = "unix:" + self.socket_path
        argv = [PYTHON, str(LAUNCHER), "--backend", BACKEND, app, where, json.dumps(kw)]
        if validate:
            argv.append("--validate")
        if warnings_error:
            argv.append("--warnings-error")
        self.argv = argv
        penv = dict(os.environ, FIXTURE_TMP=workdir, PYTHONDONTWRITEBYTECODE="1",
                    PYTHONUNBUFFERED="1", **(env or {}))
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=workdir, env=penv)
        self.stderr = _Drain(self.proc.stderr)
        self.address = self._read_address()
        self.stdout = _Drain(self.proc.stdout)
        self.exit_status = None

    def _read_address(self):
        fd = self.proc.stdout.fileno()
        line = b""
        deadline = time.monotonic() + READY_TIMEOUT
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            ready = select.select([fd], [], [], max(remaining, 0))[0] if remaining > 0 else []
            if not ready:
                self.proc.kill()
                self.proc.wait()
                pytest.fail(f"{self.app}: no address within {READY_TIMEOUT} s; stderr:\n"
                            f"{self.stderr.text()}")
            data = os.read(fd, 1)
            if not data:
                status = self.proc.wait(STOP_TIMEOUT)
                self.stderr.finish()
                pytest.fail(f"{self.app} exited ({status}) before serving; stderr:\n"
                            f"{self.stderr.text()}")
            line += data
        address = json.loads(line)
        return tuple(address) if isinstance(address, list) else address

    @property
    def port(self) -> str:
        """SERVER_PORT as the environ has it: the port, or the socket's path."""
        return str(self.address[1]) if self.transport == "tcp" else self.address

    def connect(self, timeout: float = SOCKET_TIMEOUT) -> Client:
        if self.transport == "tcp":
            sock = socket.create_connection(self.address, timeout=timeout)
        else:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(self.address)
        return Client(sock)

    def request(self, method="GET", target="/", headers=(), body=b"", version="HTTP/1.1"):
        """One request on a new connection."""
        with self.connect() as client:
            return client.request(method, target, headers, body, version)

    def log(self) -> str:
        return self.stderr.text()

    def wait_for_log(self, needle: str, timeout: float = 5.0) -> bool:
        return self.stderr.wait_for(needle, timeout)

    def stop(self) -> list[str]:
        """SIGTERM, a bounded wait; returns the problems found (empty when clean)."""
        problems = []
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.exit_status = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.exit_status = self.proc.wait()
            problems.append(f"no exit within {STOP_TIMEOUT} s of SIGTERM")
        self.stderr.finish()
        self.stdout.finish()
        if self.exit_status != 0:
            problems.append(f"exit status {self.exit_status}")
        if "Traceback" in self.log() and not self.expect_traceback:
            problems.append("a traceback in stderr")
        if self.socket_path and not self.socket_path.startswith(self.workdir):
            shutil.rmtree(os.path.dirname(self.socket_path), ignore_errors=True)
        return problems


@pytest.fixture(params=["tcp", "unix"])
def transport(request) -> str:
    """Runs the test once over TCP and once over a Unix socket."""
    return request.param


@pytest.fixture
def work_dir():
    """A fresh folder under $WAITRON_TEST_TMPDIR (or the system's), removed afterwards."""
    path = tempfile.mkdtemp(prefix="w", dir=tmp_root())
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def start_server(transport, work_dir):
    """start_server("module:app", expect_traceback=..., validate=..., warnings_error=...,
    **adjustments) -> ServerProcess over this test's transport; stopped and checked at
    teardown (exit status 0, no unexpected traceback)."""
    servers: list[ServerProcess] = []

    def start(app: str, *, expect_traceback=False, validate=False, warnings_error=False,
              env=None, **kw) -> ServerProcess:
        workdir = work_dir if not servers else tempfile.mkdtemp(prefix="w", dir=work_dir)
        server = ServerProcess(app, transport, workdir, kw, validate=validate,
                               warnings_error=warnings_error,
                               expect_traceback=expect_traceback, env=env)
        servers.append(server)
        return server

    yield start
    failures = []
    for server in servers:
        problems = server.stop()
        if problems:
            failures.append(f"{server.app} ({server.transport}): {', '.join(problems)}\n"
                            f"--- stderr ---\n{server.log()}")
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


class _Pool:
    """Servers shared by the tests of one module, one per (app, options, transport)."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="w", dir=tmp_root())
        self.servers: dict = {}

    def get(self, key, transport, app, options, kw) -> ServerProcess:
        if key not in self.servers:
            workdir = tempfile.mkdtemp(prefix="w", dir=self.root)
            self.servers[key] = ServerProcess(app, transport, workdir, kw, **options)
        return self.servers[key]

    def stop_all(self) -> list[str]:
        failures = []
        for server in self.servers.values():
            problems = server.stop()
            if problems:
                failures.append(f"{server.app} ({server.transport}): {', '.join(problems)}\n"
                                f"--- stderr ---\n{server.log()}")
        shutil.rmtree(self.root, ignore_errors=True)
        return failures


@pytest.fixture(scope="module")
def _server_pool():
    pool = _Pool()
    yield pool
    failures = pool.stop_all()
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


@pytest.fixture
def shared_server(_server_pool, transport):
    """Like start_server, but the server is shared by this module's tests that ask for the
    same app and options over the same transport; stopped and checked when the module
    ends. Each test fails if the server died or logged a traceback during it (unless
    expect_traceback)."""
    used = []

    def get(app: str, *, expect_traceback=False, validate=False, warnings_error=False,
            env=None, **kw) -> ServerProcess:
        options = dict(expect_traceback=expect_traceback, validate=validate,
                       warnings_error=warnings_error, env=env)
        key = (app, transport, json.dumps(options, sort_keys=True), json.dumps(kw, sort_keys=True))
        server = _server_pool.get(key, transport, app, options, kw)
        assert server.proc.poll() is None, f"the shared server exited:\n{server.log()}"
        used.append((server, len(server.log())))
        return server

    yield get
    problems = []
    for server, mark in used:
        if server.proc.poll() is not None:
            problems.append(f"{server.app} exited ({server.proc.returncode})")
        if "Traceback" in server.log()[mark:] and not server.expect_traceback:
            problems.append(f"{server.app}: a traceback in stderr:\n{server.log()[mark:]}")
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


class Running:
    """Runs ``server.run()`` on a thread; closes the server and joins on exit."""

    def __init__(self, server):
        self.server = server
        self.thread = threading.Thread(target=server.run)

    def __enter__(self):
        self.thread.start()
        return self.server

    def __exit__(self, *exc):
        self.server.close()
        self.thread.join(15)
        assert not self.thread.is_alive()
