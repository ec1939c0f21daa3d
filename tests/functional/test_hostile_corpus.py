"""The hostile-input corpus over real sockets (issue "Hardening", item 2).

Two parts, both against one waitron-fixture process per transport (TCP and Unix), started
in recording mode (WAITRON_FIXTURE_RECORD=1: every request is logged and answered "200 OK",
Content-Length 2, "ok") with the request-case table's limits: max_request_header_size=1024,
max_request_body_size=1024, inbuf_overflow=64.

1. The unit tests' request-case table (tests/unit/http/request_cases.hpp), read through
   waitron-dump-cases, replayed case by case, one test per case and transport, grouped by
   RFC 9112 topic (test_request_line, test_fields, test_framing, test_chunked,
   test_persistence, test_limits, test_security_history). The test id is the case's name,
   so `-k cve_` selects every waitress CVE case. Each case:

   * resets the request log (GET /__reset on its own connection);
   * opens a fresh connection, sends the whole input in one write, and half-closes
     (shutdown(SHUT_WR)) when the case says eof_after;
   * reads every response, then decides whether the connection is still open:
       - a case expected to stay open whose input ends exactly at a message boundary gets a
         probe, "GET /__seen", on the same connection: the connection is open iff the probe
         is answered (requests of one connection run in order, so its answer also proves
         every earlier request of the connection has been handled);
       - a case expected to stay open whose input stops inside a message (partial_...,
         a 100-continue still waiting for its body, trailing empty lines) is open iff the
         server neither answers further nor closes within IDLE seconds;
       - any other case must be closed by the server (EOF or reset) within CLOSE_TIMEOUT;
   * asserts: the error status, when there is one, is the last response's, carries
     "Connection: close" and the connection closes; every other final response is the app's
     200 "ok", one per expected request; "100 Continue" was sent iff continue_sent; the
     connection is open iff open_after; and, through GET /__seen on a separate connection,
     the app saw exactly the expected requests, in order, with their bodies (no smuggled
     request), and the first one's fields when the case lists them.

2. Socket-level cases the table cannot express (test_socket_*): requests split across
   several writes with pauses of a few ms, bytes arriving after an error response or after
   the server decided to close, half-closes, connect-and-reset clients, and limits reached
   by slow clients.

Every wait is bounded; nothing but loopback is used.
"""
from __future__ import annotations

import base64
import json
import os
import select
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import pytest

from conftest import Client, ConnectionClosed, ServerProcess, _tmp_root, wait_until

LIMIT_FLAGS = ("--max-request-header-size=1024", "--max-request-body-size=1024",
               "--inbuf-overflow=64")
RECORD_ENV = {"WAITRON_FIXTURE_RECORD": "1"}
PROBE = b"GET /__seen HTTP/1.1\r\n\r\n"
IDLE = 0.5  # seconds of silence that show a connection expected to stay open is open
CLOSE_TIMEOUT = 5.0  # bound on every wait for a response or for the server's close
PAUSE = 0.005  # between the writes of a split request

# RFC 9112 topics, by the table's name prefixes (request_cases.hpp's header lists them).
TOPICS = {
    "request_line": ("method", "version", "target", "line", "host"),  # §3, §3.2
    "fields": ("bytes", "fold", "field", "underscore", "dup"),  # §5, §2.2
    "framing": ("cl", "te", "smuggle", "expect"),  # §6 (and RFC 9110 §10.1.1)
    "chunked": ("chunk",),  # §7
    "persistence": ("conn", "pipe", "eof", "partial"),  # §9
    "limits": ("limit",),
    "security_history": ("cve", "sec"),  # waitress's CVEs and security fixes
}

# Table cases that fail because the server is wrong: {name: reason}; each is an
# xfail(strict=True) so that the fix is noticed.
KNOWN_BUGS: dict[str, str] = {}


# --- the table -------------------------------------------------------------------------------

@dataclass
class Seen:
    method: bytes
    target: bytes
    minor: int
    body: bytes
    fields: list = field(default_factory=list, compare=False)


@dataclass
class Case:
    name: str
    input: bytes
    error_status: int
    requests: list[Seen]
    open_after: bool
    continue_sent: bool
    eof_after: bool
    fields: list[tuple[bytes, bytes]]

    @property
    def topic(self) -> str:
        prefix = self.name.split("_")[0]
        return next(topic for topic, prefixes in TOPICS.items() if prefix in prefixes)


def _bytes(text: str) -> bytes:
    return text.encode("latin-1")


def _load_cases(exe: str) -> list[Case]:
    out = subprocess.run([exe], check=True, capture_output=True, timeout=30).stdout
    cases = []
    for c in json.loads(out):
        cases.append(Case(
            name=c["name"], input=base64.b64decode(c["input"]), error_status=c["error_status"],
            requests=[Seen(_bytes(method), _bytes(target), minor, _bytes(body))
                      for method, target, minor, body in c["requests"]],
            open_after=c["open_after"], continue_sent=c["continue_sent"],
            eof_after=c["eof_after"],
            fields=[(_bytes(n), _bytes(v)) for n, v in c["fields"]]))
    return cases


_CASES: list[Case] | None = None


def table_cases(config) -> list[Case]:
    global _CASES
    if _CASES is None:
        exe = config.getoption("--waitron-corpus-dump")
        if not os.access(exe, os.X_OK):
            raise pytest.UsageError(
                f"--waitron-corpus-dump: {exe} is not an executable (build first)")
        _CASES = _load_cases(exe)
        unknown = [c.name for c in _CASES if c.name.split("_")[0] not in
                   {p for prefixes in TOPICS.values() for p in prefixes}]
        if unknown:
            raise pytest.UsageError(f"request cases without a topic: {unknown}")
    return _CASES


def pytest_generate_tests(metafunc):
    if "case" not in metafunc.fixturenames:
        return
    topic = metafunc.function.__name__.removeprefix("test_")
    params = []
    for case in table_cases(metafunc.config):
        if case.topic != topic:
            continue
        marks = ([pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[case.name])]
                 if case.name in KNOWN_BUGS else [])
        params.append(pytest.param(case, id=case.name, marks=marks))
    metafunc.parametrize("case", params)


def test_the_table_is_large_and_covers_every_waitress_cve(pytestconfig):
    cases = table_cases(pytestconfig)
    assert len(cases) >= 150
    names = [c.name for c in cases]
    for cve in ("2019_16785", "2019_16786", "2019_16789", "2019_16792", "2020_5236",
                "2022_24761", "2024_49768", "2024_49769"):
        assert any(name.startswith(f"cve_{cve}_") for name in names), cve


# --- the recording server, one per transport -------------------------------------------------

@pytest.fixture(scope="module", params=["tcp", "unix"])
def corpus_server(request, fixture_exe):
    workdir = tempfile.mkdtemp(prefix="w", dir=_tmp_root())
    server = ServerProcess(fixture_exe, LIMIT_FLAGS, request.param, workdir, env=RECORD_ENV)
    try:
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def connect(server: ServerProcess, timeout: float = CLOSE_TIMEOUT) -> Client:
    client = server.connect(timeout)
    if server.transport == "tcp":
        client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client


def reset_log(server: ServerProcess):
    resp = server.request("GET", "/__reset", timeout=CLOSE_TIMEOUT)
    assert resp.status == 200 and resp.body == b"reset", resp


def parse_seen(body: bytes) -> list[Seen]:
    return [Seen(_bytes(r["method"]), _bytes(r["target"]), r["minor"], _bytes(r["body"]),
                 [(_bytes(n), _bytes(v)) for n, v in r["fields"]])
            for r in json.loads(body)]


def seen_requests(server: ServerProcess) -> list[Seen]:
    """What the app saw since the last reset, asked on a separate connection."""
    resp = server.request("GET", "/__seen", timeout=CLOSE_TIMEOUT)
    assert resp.status == 200 and resp.header("X-Request-Log") == "seen", resp
    return parse_seen(resp.body)


def is_probe_answer(resp) -> bool:
    return resp.header("X-Request-Log") == "seen"


def ends_at_message_boundary(data: bytes) -> bool:
    """True if `data` is a sequence of complete requests with nothing after the last one.

    Only for inputs the server accepts (no error): framing by Content-Length or by a
    chunked Transfer-Encoding, as RFC 9112 §6.3 (names containing '_' are not fields).
    Empty lines before a request count as a started request: a probe after them would
    be judged with them (they count toward the head limit).
    """
    pos, n = 0, len(data)
    while pos < n:
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            return False
        if end == pos:  # an empty line before a request line
            pos += 2
            if pos == n:
                return False
            continue
        content_length, chunked = 0, False
        for line in data[pos:end].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                content_length = int(value.strip(b" \t"))
            elif name.lower() == b"transfer-encoding":
                chunked = value.strip(b" \t").lower() == b"chunked"
        pos = end + 4
        if not chunked:
            pos += content_length
            if pos > n:
                return False
            continue
        while True:  # chunks, then the trailer section
            line_end = data.find(b"\r\n", pos)
            if line_end < 0:
                return False
            size = int(data[pos:line_end].split(b";")[0], 16)
            pos = line_end + 2
            if size == 0:
                break
            pos += size + 2
            if pos > n:
                return False
        while True:  # trailer field lines up to the empty line
            line_end = data.find(b"\r\n", pos)
            if line_end < 0:
                return False
            empty = line_end == pos
            pos = line_end + 2
            if empty:
                break
    return True


# --- reading responses -----------------------------------------------------------------------

@dataclass
class Exchange:
    """Everything one connection showed: the responses in order and how it ended."""
    responses: list = field(default_factory=list)
    closed: bool = False  # the server closed (EOF or reset)
    timed_out: bool = False  # silence until the read timeout
    leftover: bytes = b""  # bytes after the last complete response
    probe: object = None  # the answer to the probe, if any

    def finals(self):
        return [r for r in self.responses if r.status >= 200]

    def interim(self):
        return [r for r in self.responses if r.status < 200]

    def describe(self) -> str:
        parts = [f"{r.status} {r.reason} body={r.body[:80]!r}" for r in self.responses]
        end = "closed" if self.closed else "timed out" if self.timed_out else "probe answered"
        return f"[{'; '.join(parts)}] then {end}; leftover={self.leftover[:120]!r}"


def read_exchange(client: Client, head_methods: list[bytes], timeout: float,
                  until_probe: bool = False) -> Exchange:
    """Reads responses until the server closes, `timeout` seconds of silence pass, or
    (until_probe) the probe's answer arrives. The n-th final response is read as the
    answer to head_methods[n] (HEAD answers carry no body)."""
    ex = Exchange()
    client.sock.settimeout(timeout)
    while True:
        index = len(ex.finals())
        head = index < len(head_methods) and head_methods[index] == b"HEAD"
        try:
            resp = client.read_response(head_request=head, allow_incomplete=True)
        except ConnectionClosed:
            ex.closed = True
            break
        except (ConnectionResetError, BrokenPipeError):
            ex.closed = True
            break
        except (socket.timeout, TimeoutError):
            ex.timed_out = True
            break
        if until_probe and is_probe_answer(resp):
            ex.probe = resp
            break
        ex.responses.append(resp)
        if not resp.complete:  # the connection closed inside the body
            ex.closed = True
            break
    ex.leftover = bytes(client.buf)
    return ex


def send_all(client: Client, data: bytes) -> bool:
    """Sends `data`; False if the server already closed or reset the connection."""
    try:
        client.send(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


def shut_write(client: Client):
    try:
        client.sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # already reset by the server


# --- one table case --------------------------------------------------------------------------

def as_tuples(requests: list[Seen]) -> list[tuple]:
    return [(r.method, r.target, f"1.{r.minor}", r.body) for r in requests]


def run_case(server: ServerProcess, case: Case):
    reset_log(server)
    expected_methods = [r.method for r in case.requests]
    with connect(server) as client:
        if case.input:
            send_all(client, case.input)
        if case.eof_after:
            shut_write(client)
        probe = (case.open_after and not case.eof_after and case.error_status == 0
                 and ends_at_message_boundary(case.input))
        if probe:
            send_all(client, PROBE)
            ex = read_exchange(client, expected_methods, CLOSE_TIMEOUT, until_probe=True)
        elif case.open_after:
            ex = read_exchange(client, expected_methods, IDLE)
        else:
            ex = read_exchange(client, expected_methods, CLOSE_TIMEOUT)
    seen = seen_requests(server)
    context = f"{case.name}: input {case.input[:200]!r}\n  got {ex.describe()}"

    # The responses.
    assert not ex.leftover, f"{context}\n  bytes that are no response"
    continues = [r for r in ex.interim() if r.status == 100]
    assert [r.status for r in ex.interim()] == [100] * len(continues), context
    assert bool(continues) == case.continue_sent, (
        f"{context}\n  want continue={case.continue_sent}")
    finals = ex.finals()
    if case.error_status:
        assert finals and finals[-1].status == case.error_status, (
            f"{context}\n  want the last response to be {case.error_status}")
        error = finals.pop()
        assert error.header("Connection") == "close", (
            f"{context}\n  an error response without Connection: close")
        assert ex.closed, f"{context}\n  the connection stayed open after {error.status}"
    assert [r.status for r in finals] == [200] * len(case.requests), (
        f"{context}\n  want {len(case.requests)} responses 200 before any error")
    for resp, want in zip(finals, case.requests):
        assert resp.header("Content-Length") == "2", context
        assert resp.body == (b"" if want.method == b"HEAD" else b"ok"), context

    # Open or closed.
    if case.open_after:
        if probe:
            assert ex.probe is not None, (
                f"{context}\n  the probe on the same connection was not answered")
            assert parse_seen(ex.probe.body) == case.requests, context
        else:
            assert ex.timed_out and not ex.closed, f"{context}\n  want the connection to stay open"
    else:
        assert ex.closed, f"{context}\n  want the server to close within {CLOSE_TIMEOUT} s"

    # No smuggled request: the app saw exactly the expected requests.
    assert as_tuples(seen) == as_tuples(case.requests), f"{context}\n  the app saw other requests"
    if case.fields:
        assert seen[0].fields == case.fields, context


def test_request_line(corpus_server, case):
    run_case(corpus_server, case)


def test_fields(corpus_server, case):
    run_case(corpus_server, case)


def test_framing(corpus_server, case):
    run_case(corpus_server, case)


def test_chunked(corpus_server, case):
    run_case(corpus_server, case)


def test_persistence(corpus_server, case):
    run_case(corpus_server, case)


def test_limits(corpus_server, case):
    run_case(corpus_server, case)


def test_security_history(corpus_server, case):
    run_case(corpus_server, case)


# --- socket-level cases ----------------------------------------------------------------------
# What the table cannot say: the timing of writes, bytes sent after the server answered or
# decided to close, half-closes and resets, and clients that reach a limit slowly.

def send_pieces(client: Client, pieces, pause: float = PAUSE):
    """One write per piece, `pause` seconds apart."""
    for i, piece in enumerate(pieces):
        if i:
            time.sleep(pause)
        client.send(piece)


def split_at(data: bytes, *offsets: int) -> list[bytes]:
    bounds = [0, *offsets, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


def nothing_arrives(client: Client, wait: float) -> bool:
    """True if the server neither sends a byte nor closes within `wait` seconds."""
    ready, _, _ = select.select([client.sock], [], [], wait)
    return not ready and not client.buf


def probe_answer(client: Client, head_methods) -> Exchange:
    send_all(client, PROBE)
    return read_exchange(client, head_methods, CLOSE_TIMEOUT, until_probe=True)


def assert_served_then_open(client: Client, server: ServerProcess, want: list[Seen]):
    ex = probe_answer(client, [r.method for r in want])
    assert [r.status for r in ex.responses] == [200] * len(want), ex.describe()
    assert ex.probe is not None, f"the connection did not stay open: {ex.describe()}"
    assert as_tuples(parse_seen(ex.probe.body)) == as_tuples(want)
    assert as_tuples(seen_requests(server)) == as_tuples(want)


def assert_refused(ex: Exchange, status: int, served_before: int = 0):
    statuses = [r.status for r in ex.finals()]
    assert statuses == [200] * served_before + [status], ex.describe()
    assert ex.finals()[-1].header("Connection") == "close", ex.describe()
    assert ex.closed and not ex.leftover, ex.describe()


def get(target: str, version: str = "HTTP/1.1", fields: str = "") -> bytes:
    return f"GET {target} {version}\r\n{fields}\r\n".encode()


def test_socket_request_split_across_writes(corpus_server):
    reset_log(corpus_server)
    request = b"GET /split?x=1 HTTP/1.1\r\nHost: localhost\r\nX-A: b\r\n\r\n"
    with connect(corpus_server) as client:
        # Inside the method, the target, a field name, between a CR and its LF, and
        # inside the final CRLF CRLF.
        send_pieces(client, split_at(request, 2, 9, 30, 40, 46, 48))
        assert_served_then_open(client, corpus_server, [Seen(b"GET", b"/split?x=1", 1, b"")])


def test_socket_head_one_byte_per_write(corpus_server):
    reset_log(corpus_server)
    request = b"GET /bytewise HTTP/1.1\r\nX-B: c\r\n\r\n"
    with connect(corpus_server) as client:
        send_pieces(client, [request[i:i + 1] for i in range(len(request))], pause=0.001)
        assert_served_then_open(client, corpus_server, [Seen(b"GET", b"/bytewise", 1, b"")])


def test_socket_chunked_body_split_across_writes(corpus_server):
    reset_log(corpus_server)
    with connect(corpus_server) as client:
        send_pieces(client, [
            b"POST /chunks HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1",  # inside a size
            b"0;ext=\"a",  # inside a quoted extension
            b"b\"\r",  # between the size line's CR and LF
            b"\n0123456789", b"abcdef\r\n3\r\nXYZ",  # inside chunk data
            b"\r\n0\r\nX-Trailer:", b" t\r\n",  # inside the trailer section
            b"\r\n",
        ])
        assert_served_then_open(client, corpus_server,
                                [Seen(b"POST", b"/chunks", 1, b"0123456789abcdefXYZ")])


def test_socket_content_length_body_split_then_pipelined(corpus_server):
    reset_log(corpus_server)
    with connect(corpus_server) as client:
        send_pieces(client, [b"POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n01234",
                             b"56789GET /b HTTP/1.1\r\n", b"\r\n"])
        assert_served_then_open(client, corpus_server,
                                [Seen(b"POST", b"/a", 1, b"0123456789"),
                                 Seen(b"GET", b"/b", 1, b"")])


@pytest.mark.parametrize("head", [
    b"POST / HTTP/1.1\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n",
], ids=["cl_te", "te_cl"])
def test_socket_smuggle_with_both_framings_split_across_writes(corpus_server, head):
    reset_log(corpus_server)
    with connect(corpus_server) as client:
        send_pieces(client, [head, b"0\r\n\r\nG", b"ET /smuggled HTTP/1.1\r\n\r\n"])
        assert_refused(read_exchange(client, [], CLOSE_TIMEOUT), 400)
    assert seen_requests(corpus_server) == []


def test_socket_cve_2024_49768_invalid_request_split_then_pipelined(corpus_server):
    # waitress's shape: the invalid request ends in one recv, the next request in another.
    reset_log(corpus_server)
    with connect(corpus_server) as client:
        send_pieces(client, [b"GET / HTTP/1.1\r\nContent-Length: -1\r\n",
                             b"\r\nGET /smuggled HTTP/1.1\r\n\r\n"])
        assert_refused(read_exchange(client, [], CLOSE_TIMEOUT), 400)
    assert seen_requests(corpus_server) == []


def test_socket_cve_2024_49768_second_request_after_the_400(corpus_server):
    reset_log(corpus_server)
    with connect(corpus_server) as client:
        client.send(b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n")
        error = client.read_response()
        assert error.status == 400 and error.header("Connection") == "close"
        send_all(client, get("/smuggled"))  # the server drains it (or has reset)
        ex = read_exchange(client, [], CLOSE_TIMEOUT)
        assert ex.closed and not ex.responses and not ex.leftover, ex.describe()
    assert seen_requests(corpus_server) == []


@pytest.mark.parametrize("first", [
    get("/first", fields="Connection: close\r\n"),
    get("/first", version="HTTP/1.0"),
], ids=["http11_connection_close", "http10"])
def test_socket_request_after_the_last_response_is_not_served(corpus_server, first):
    reset_log(corpus_server)
    with connect(corpus_server) as client:
        client.send(first)
        resp = client.read_response()
        assert resp.status == 200 and resp.header("Connection") == "close"
        send_all(client, get("/after-close"))
        ex = read_exchange(client, [], CLOSE_TIMEOUT)
        assert ex.closed and not ex.responses and not ex.leftover, ex.describe()
    minor = 1 if b"HTTP/1.1" in first else 0
    assert as_tuples(seen_requests(corpus_server)) == as_tuples(
        [Seen(b"GET", b"/first", minor, b"")])


def test_socket_half_close_after_a_complete_request(corpus_server):
    reset_log(corpus_server)
    with connect(corpus_server) as client:
        send_pieces(client, [b"POST /half HTTP/1.1\r\nContent-Length: 5\r\n\r\nhe", b"llo"])
        time.sleep(PAUSE)
        shut_write(client)
        ex = read_exchange(client, [b"POST"], CLOSE_TIMEOUT)
        assert [r.status for r in ex.responses] == [200] and ex.closed, ex.describe()
    assert as_tuples(seen_requests(corpus_server)) == as_tuples(
        [Seen(b"POST", b"/half", 1, b"hello")])


def test_socket_half_close_after_pipelined_requests(corpus_server):
    reset_log(corpus_server)
    want = [Seen(b"POST", b"/1", 1, b"one"), Seen(b"HEAD", b"/2", 1, b""),
            Seen(b"PUT", b"/3", 0, b"three")]
    with connect(corpus_server) as client:
        client.send(b"POST /1 HTTP/1.1\r\nContent-Length: 3\r\n\r\none"
                    b"HEAD /2 HTTP/1.1\r\n\r\n"
                    b"PUT /3 HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nthree")
        shut_write(client)
        ex = read_exchange(client, [r.method for r in want], CLOSE_TIMEOUT)
        assert [r.status for r in ex.responses] == [200] * 3 and ex.closed, ex.describe()
        assert [r.body for r in ex.responses] == [b"ok", b"", b"ok"]
    assert as_tuples(seen_requests(corpus_server)) == as_tuples(want)


def test_socket_half_close_inside_a_body(corpus_server):
    reset_log(corpus_server)
    with connect(corpus_server) as client:
        send_pieces(client, [b"POST /cut HTTP/1.1\r\nContent-Length: 10\r\n\r\n", b"01234"])
        shut_write(client)
        ex = read_exchange(client, [], CLOSE_TIMEOUT)
        assert ex.closed and not ex.responses, ex.describe()
    assert seen_requests(corpus_server) == []


def reset_connection(client: Client):
    """Closes with a reset (TCP: SO_LINGER 0); a Unix socket has no reset and just closes."""
    if client.sock.family != socket.AF_UNIX:
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_socket_reset_inside_a_body(corpus_server):
    reset_log(corpus_server)
    client = connect(corpus_server)
    send_pieces(client, [b"POST /reset HTTP/1.1\r\nContent-Length: 100\r\n\r\n", b"0123456789"])
    time.sleep(PAUSE)
    reset_connection(client)
    with connect(corpus_server) as other:
        other.send(get("/after-reset"))
        assert_served_then_open(other, corpus_server, [Seen(b"GET", b"/after-reset", 1, b"")])


def test_socket_cve_2024_49769_connect_and_reset_at_once(corpus_server):
    # waitress 3.0.0 kept such sockets as "unconnected" channels: a busy loop and a leaked
    # descriptor each. The server must close them and keep serving the others.
    reset_log(corpus_server)
    pid = corpus_server.pid
    fds_before = open_fds(pid)
    with connect(corpus_server) as keep_alive:
        keep_alive.send(get("/before"))
        assert keep_alive.read_response().status == 200
        for _ in range(20):
            reset_connection(connect(corpus_server))
        keep_alive.send(get("/after"))
        assert keep_alive.read_response().status == 200
        ticks = cpu_ticks(pid)
        time.sleep(0.3)
        busy = cpu_ticks(pid) - ticks
        assert busy < 10, f"the idle server used {busy} clock ticks in 0.3 s"
    assert wait_until(lambda: open_fds(pid) <= fds_before, timeout=CLOSE_TIMEOUT), (
        f"{open_fds(pid)} descriptors open, {fds_before} before the resets")
    assert as_tuples(seen_requests(corpus_server)) == as_tuples(
        [Seen(b"GET", b"/before", 1, b""), Seen(b"GET", b"/after", 1, b"")])


def test_socket_cve_2024_49769_connect_and_half_close_at_once(corpus_server):
    reset_log(corpus_server)
    clients = [connect(corpus_server) for _ in range(20)]
    try:
        for client in clients:
            shut_write(client)
        for client in clients:
            ex = read_exchange(client, [], CLOSE_TIMEOUT)
            assert ex.closed and not ex.responses and not ex.leftover, ex.describe()
    finally:
        for client in clients:
            client.close()
    with connect(corpus_server) as other:
        other.send(get("/still-serving"))
        assert_served_then_open(other, corpus_server, [Seen(b"GET", b"/still-serving", 1, b"")])


def test_socket_expect_100_continue_comes_before_the_body(corpus_server):
    reset_log(corpus_server)
    with connect(corpus_server) as client:
        client.send(b"POST /expect HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n")
        interim = client.read_response()  # nothing of the body was sent yet
        assert (interim.status, interim.version, interim.headers) == (100, "HTTP/1.1", [])
        assert nothing_arrives(client, 0.05), "an answer before the body"
        send_pieces(client, [b"01234", b"56789"])
        assert_served_then_open(client, corpus_server,
                                [Seen(b"POST", b"/expect", 1, b"0123456789")])


def test_socket_oversized_head_sent_slowly(corpus_server):
    # 1023 bytes of an unfinished head are kept waiting; the 1024th byte gets the 431 at
    # once, long before the head could end.
    reset_log(corpus_server)
    head = b"GET / HTTP/1.1\r\nX-Pad: " + b"p" * 2000
    with connect(corpus_server) as client:
        send_pieces(client, [head[i:i + 64] for i in range(0, 1023, 64)][:-1] + [head[960:1023]])
        assert nothing_arrives(client, 0.1), "an answer before the limit was reached"
        client.send(head[1023:1024])
        ex = read_exchange(client, [], CLOSE_TIMEOUT)
        assert_refused(ex, 431)
        assert ex.responses[-1].version == "HTTP/1.0"
    assert seen_requests(corpus_server) == []


def test_socket_oversized_content_length_refused_before_the_body(corpus_server):
    reset_log(corpus_server)
    with connect(corpus_server) as client:
        client.send(b"POST /big HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n")
        ex = read_exchange(client, [], CLOSE_TIMEOUT)  # no body byte was sent
        assert_refused(ex, 413)
        assert not ex.interim(), "100 Continue for a body that is refused"
    assert seen_requests(corpus_server) == []


def test_socket_oversized_chunked_body_refused_at_the_chunk_header(corpus_server):
    # 519 bytes of body framing so far, and a chunk of 512 announced: 413 before its data.
    reset_log(corpus_server)
    with connect(corpus_server) as client:
        send_pieces(client, [b"POST /big HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                             b"200\r\n" + b"a" * 512 + b"\r\n"])
        assert nothing_arrives(client, 0.05), "an answer before the limit was reached"
        client.send(b"200\r\n")
        assert_refused(read_exchange(client, [], CLOSE_TIMEOUT), 413)
    assert seen_requests(corpus_server) == []


def test_socket_error_response_survives_the_rest_of_the_body(corpus_server):
    # The client keeps sending the body the server refused: it still reads the whole 413
    # (the server drains instead of resetting), then the close.
    reset_log(corpus_server)
    with connect(corpus_server) as client:
        client.send(b"POST /big HTTP/1.1\r\nContent-Length: 65536\r\n\r\n")
        for _ in range(16):
            if not send_all(client, b"x" * 4096):
                break
            time.sleep(0.001)
        ex = read_exchange(client, [], CLOSE_TIMEOUT)
        assert_refused(ex, 413)
        assert ex.responses[-1].complete
    assert seen_requests(corpus_server) == []
