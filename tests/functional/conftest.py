"""Shared machinery of the functional suite: real server processes and a raw HTTP client.

Every behaviour test gets a fresh server process (``start_server``), started with the
command line of ``waitron-serve`` (``--waitron-fixture`` serves the native App of
native_fixture/, ``--waitron-serve`` the demo App), listening on 127.0.0.1 port 0 or on a
Unix socket: the ``transport`` fixture runs each test once per transport ("tcp", "unix").

Readiness is the "Serving on" log line, read from the server's stderr with select() and a
deadline; nothing sleeps to synchronise. After the banner a thread keeps draining stderr
into a list, so the pipe never fills and tests can wait for a log line.

Teardown sends SIGTERM, waits at most 10 s, and fails the test unless the process exited
with status 0 and printed no sanitizer report (the ASan build reports leaks at exit).

Only the standard library: sockets, select, subprocess, threading.
"""
from __future__ import annotations

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

READY_TIMEOUT = 10.0  # seconds for the "Serving on" line
STOP_TIMEOUT = 10.0  # seconds for a clean exit after SIGTERM
SOCKET_TIMEOUT = 10.0  # default timeout of every client socket operation
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")
BANNER = re.compile(r"^INFO:waitron:Serving on http://(?:(127\.0\.0\.1):(\d+)|unix:(.+))$")
REPO = Path(__file__).resolve().parents[2]


# --- options and paths ----------------------------------------------------------------------

def pytest_addoption(parser):
    group = parser.getgroup("waitron")
    group.addoption("--waitron-fixture", default=str(REPO / "build/tests/functional/waitron-fixture"),
                    help="path of the waitron-fixture executable")
    group.addoption("--waitron-serve", default=str(REPO / "build/src/runner/waitron-serve"),
                    help="path of the waitron-serve executable")
    group.addoption("--waitron-corpus-dump",
                    default=str(REPO / "build/tests/functional/waitron-dump-cases"),
                    help="path of the waitron-dump-cases executable (the request-case table "
                         "as JSON, for test_hostile_corpus.py)")


def _executable(config, option: str) -> str:
    path = config.getoption(option)
    if not os.access(path, os.X_OK):
        raise pytest.UsageError(f"{option}: {path} is not an executable (build first)")
    return os.path.abspath(path)


@pytest.fixture(scope="session")
def fixture_exe(pytestconfig) -> str:
    return _executable(pytestconfig, "--waitron-fixture")


@pytest.fixture(scope="session")
def serve_exe(pytestconfig) -> str:
    return _executable(pytestconfig, "--waitron-serve")


@pytest.fixture(scope="session")
def corpus_dump_exe(pytestconfig) -> str:
    return _executable(pytestconfig, "--waitron-corpus-dump")


def _tmp_root() -> str:
    root = os.environ.get("WAITRON_TEST_TMPDIR") or tempfile.gettempdir()
    os.makedirs(root, exist_ok=True)
    return root


@pytest.fixture
def tmp_dir():
    """A fresh folder under $WAITRON_TEST_TMPDIR (or the system's), removed afterwards."""
    path = tempfile.mkdtemp(prefix="w", dir=_tmp_root())
    yield path
    shutil.rmtree(path, ignore_errors=True)


# --- the raw HTTP client --------------------------------------------------------------------

class ConnectionClosed(Exception):
    """The server closed the connection before a complete message arrived."""


@dataclass
class Response:
    version: str  # "HTTP/1.1"
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    complete: bool = True  # False: the connection closed inside the body
    chunked: bool = False

    def header(self, name: str) -> str | None:
        """The first field called `name` (case-insensitive), or None."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def header_names(self) -> list[str]:
        return [key for key, _ in self.headers]


def build_request(method: str, target: str, body: bytes = b"", headers=(),
                  version: str = "HTTP/1.1", host: str | None = "localhost") -> bytes:
    """A request's bytes; Content-Length is added for a body unless a header frames it."""
    lines = [f"{method} {target} {version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    names = {name.lower() for name, _ in headers}
    lines += [f"{name}: {value}" for name, value in headers]
    if body and "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


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

    def request(self, method: str, target: str, body: bytes = b"", headers=(),
                version: str = "HTTP/1.1") -> Response:
        """Sends one request and reads its response."""
        self.send(build_request(method, target, body, headers, version))
        return self.read_response(head_request=(method == "HEAD"))

    def _fill(self) -> bool:
        data = self.sock.recv(262144)
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
            if len(self.buf) > 1 << 20:
                raise AssertionError("no CRLF in the first MiB")
            if not self._fill():
                raise ConnectionClosed(f"closed before a line ended; pending {bytes(self.buf)!r}")

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionClosed(f"closed after {len(self.buf)} of {n} bytes")
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_into(self, view: memoryview) -> int:
        """Fills `view` (a large body) without growing the buffer; returns the bytes read."""
        got = min(len(self.buf), len(view))
        view[:got] = self.buf[:got]
        del self.buf[:got]
        while got < len(view):
            n = self.sock.recv_into(view[got:])
            if n == 0:
                break
            got += n
        return got

    def read_until_eof(self, limit: int = 1 << 26) -> bytes:
        while len(self.buf) <= limit and self._fill():
            pass
        data = bytes(self.buf)
        self.buf.clear()
        return data

    def read_head(self) -> Response:
        line = self.read_line().decode("latin-1")
        match = re.fullmatch(r"(HTTP/1\.[01]) (\d{3}) ?(.*)", line)
        assert match, f"bad status line {line!r}"
        headers = []
        while True:
            raw = self.read_line()
            if not raw:
                break
            name, sep, value = raw.decode("latin-1").partition(":")
            assert sep, f"bad field line {raw!r}"
            headers.append((name, value.strip(" \t")))
        return Response(match[1], int(match[2]), match[3], headers)

    def read_response(self, head_request: bool = False, allow_incomplete: bool = False) -> Response:
        """Reads one response; its body by Content-Length, chunked framing, or the close.

        A 1xx response is returned as it is (read again for the final one). When the
        connection closes inside the body, ConnectionClosed is raised, or with
        allow_incomplete the response comes back with complete=False and the bytes so far.
        """
        resp = self.read_head()
        if resp.status < 200 or resp.status in (204, 304) or head_request:
            return resp
        body = bytearray()
        try:
            if (resp.header("Transfer-Encoding") or "").lower() == "chunked":
                resp.chunked = True
                self._read_chunked(body)
            elif resp.header("Content-Length") is not None:
                length = int(resp.header("Content-Length"))
                while len(body) < length:
                    if not self.buf and not self._fill():
                        raise ConnectionClosed(f"closed after {len(body)} of {length} body bytes")
                    take = min(length - len(body), len(self.buf))
                    body += self.buf[:take]
                    del self.buf[:take]
            else:
                body += self.read_until_eof()
        except ConnectionClosed:
            if not allow_incomplete:
                raise
            resp.complete = False
            body += self.buf
            self.buf.clear()
        resp.body = bytes(body)
        return resp

    def _read_chunked(self, body: bytearray):
        while True:
            size_line = self.read_line()
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                while self.read_line():  # trailer fields, then the empty line
                    pass
                return
            body += self.read_exact(size)
            assert self.read_exact(2) == b"\r\n", "chunk data not followed by CRLF"

    def closed_by_server(self, timeout: float = 0.5) -> bool:
        """True if the server closed (EOF or reset) within `timeout`; False if the
        connection stays silent or sends bytes (kept in the buffer)."""
        if self.buf:
            return False
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        finally:
            self.sock.settimeout(old)
        if not data:
            return True
        self.buf += data
        return False


# --- server processes ------------------------------------------------------------------------

class _Drain:
    """Reads a pipe into lines: first from the caller's thread, then from a thread."""

    def __init__(self, stream):
        self.stream = stream
        self.fd = stream.fileno()
        self.partial = b""
        self.lines: list[str] = []
        self.eof = False
        self.cond = threading.Condition()
        self.thread: threading.Thread | None = None

    def read_once(self, timeout: float) -> bool:
        """Waits up to `timeout` for data and takes it; False at end of file."""
        ready, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if not ready:
            return True
        data = os.read(self.fd, 65536)
        with self.cond:
            if not data:
                if self.partial:
                    self.lines.append(self.partial.decode("utf-8", "replace"))
                    self.partial = b""
                self.eof = True
            else:
                *complete, self.partial = (self.partial + data).split(b"\n")
                self.lines += [line.decode("utf-8", "replace") for line in complete]
            self.cond.notify_all()
        return bool(data)

    def start_thread(self):
        def run():
            while self.read_once(1.0):
                pass
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def finish(self):
        if self.thread:
            self.thread.join(5)
        self.stream.close()

    def text(self) -> str:
        with self.cond:
            return "\n".join(self.lines + ([self.partial.decode("utf-8", "replace")] if self.partial else []))

    def wait_for(self, text: str, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: any(text in line for line in self.lines) or self.eof,
                                      timeout) and any(text in line for line in self.lines)


class ServerProcess:
    """A waitron-serve-like process listening on TCP 127.0.0.1:0 or a Unix socket."""

    def __init__(self, exe: str, flags, transport: str, workdir: str, env=None):
        self.transport = transport
        self.workdir = workdir
        self.socket_path = None
        argv = [exe]
        if transport == "tcp":
            argv.append("--listen=127.0.0.1:0")
        elif transport == "unix":
            self.socket_path = os.path.join(workdir, "s.sock")
            if len(self.socket_path) > 100:  # sun_path holds 108 bytes
                self.socket_path = os.path.join(tempfile.mkdtemp(prefix="w"), "s.sock")
            argv.append(f"--unix-socket={self.socket_path}")
        elif transport is not None:
            raise ValueError(transport)
        self.argv = argv + list(flags)
        self.address = None  # ("127.0.0.1", port) or the socket path
        self.exit_status = None
        self.terminated = False  # SIGTERM sent (a second one would make it exit at once)
        env = dict(os.environ, TMPDIR=workdir, **(env or {}))
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=workdir, env=env)
        self.stdout = _Drain(self.proc.stdout)
        self.stdout.start_thread()
        self.stderr = _Drain(self.proc.stderr)
        self._wait_ready()
        self.stderr.start_thread()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT
        seen = 0
        while True:
            for line in self.stderr.lines[seen:]:
                match = BANNER.match(line)
                if match and match[3] is not None:
                    self.address = match[3]
                    return
                if match:
                    self.address = (match[1], int(match[2]))
                    return
            seen = len(self.stderr.lines)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.proc.kill()
                self.proc.wait()
                pytest.fail(f"{self.argv}: no 'Serving on' line in {READY_TIMEOUT} s; stderr:\n"
                            f"{self.stderr.text()}")
            if not self.stderr.read_once(remaining):
                status = self.proc.wait(STOP_TIMEOUT)
                pytest.fail(f"{self.argv} exited ({status}) before serving; stderr:\n"
                            f"{self.stderr.text()}")

    def connect(self, timeout: float = SOCKET_TIMEOUT) -> Client:
        if isinstance(self.address, tuple):
            sock = socket.create_connection(self.address, timeout=timeout)
        else:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(self.address)
        return Client(sock)

    def request(self, method: str, target: str, body: bytes = b"", headers=(),
                version: str = "HTTP/1.1", timeout: float = SOCKET_TIMEOUT) -> Response:
        """One request on a new connection."""
        with self.connect(timeout) as client:
            return client.request(method, target, body, headers, version)

    def rss_kib(self) -> int:
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def stderr_text(self) -> str:
        return self.stderr.text()

    def wait_for_log(self, text: str, timeout: float = SOCKET_TIMEOUT) -> bool:
        return self.stderr.wait_for(text, timeout)

    def terminate(self):
        """Sends SIGTERM once: the server closes gracefully (a second signal exits at once)."""
        if not self.terminated and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.terminated = True

    def terminate_and_wait(self) -> int:
        """SIGTERM (unless sent), then the exit status; kills and fails after 10 s."""
        if self.exit_status is None:
            self.terminate()
            try:
                self.exit_status = self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.exit_status = self.proc.wait()
                self._close_pipes()
                pytest.fail(f"{self.argv} did not exit within {STOP_TIMEOUT} s of SIGTERM; "
                            f"stderr:\n{self.stderr.text()[-4000:]}")
            self._close_pipes()
        return self.exit_status

    def _close_pipes(self):
        self.stdout.finish()
        self.stderr.finish()

    def stop(self):
        """Teardown: a clean exit (status 0) without sanitizer reports, or a failure."""
        status = self.terminate_and_wait()
        text = self.stderr.text()
        problems = [m for m in SANITIZER_MARKERS if m in text]
        assert status == 0 and not problems, (
            f"{self.argv}: exit status {status}, sanitizer reports {problems}; stderr:\n{text[-6000:]}")


@pytest.fixture(params=["tcp", "unix"])
def transport(request) -> str:
    return request.param


def embedded_python_env() -> dict:
    """The environment for waitron-serve serving a Python app in a sanitizer build: CPython
    keeps allocations until the process exits (an embedded interpreter that is not
    finalised), which LeakSanitizer would report. Leak checking of waitron's own code is
    left to the tests of native apps (the Python suite runs with the same setting)."""
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {"ASAN_OPTIONS": f"{asan + ':' if asan else ''}detect_leaks=0"}


@pytest.fixture
def start_server(fixture_exe, transport, tmp_dir):
    """start_server(*flags, exe=None, env=None) -> ServerProcess, stopped and checked at
    teardown."""
    servers: list[ServerProcess] = []

    def start(*flags, exe=None, env=None):
        server = ServerProcess(exe or fixture_exe, flags, transport, tmp_dir, env=env)
        servers.append(server)
        return server

    yield start
    failures = []
    for server in servers:
        try:
            server.stop()
        except (AssertionError, pytest.fail.Exception) as e:
            failures.append(str(e))
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


@pytest.fixture
def server(start_server) -> ServerProcess:
    """The fixture App with the default options."""
    return start_server()


def wait_until(predicate, timeout: float, interval: float = 0.02):
    """Polls `predicate` (bounded: `timeout` seconds) until it returns a true value; returns
    the last value. For server state observed through requests, not for readiness."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
