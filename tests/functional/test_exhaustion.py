"""Resource exhaustion: slow clients (slowloris heads, trickling bodies), 10,000 idle
keep-alive connections, and clients waiting behind connection_limit.

Every test talks to a real server over loopback with bounded counts and times. Latency
checks are generous bounds relative to channel_timeout (seconds), never speed targets.
The slow-client tests run over TCP and a Unix socket (the `transport` fixture); the
10,000-connection test over TCP only.

channel_timeout is waitress's: a connection with no request in the application and no
byte received or sent for channel_timeout seconds is closed at the next sweep (every
cleanup_interval). A partially received request head or body is not a request, so a
client that pauses longer than channel_timeout inside one is cut. waitron adds a deadline
for heads: a head must be complete within channel_timeout of its first byte, so a client
trickling one (slowloris) is cut too. A body that keeps trickling is bounded by
max_request_body_size (as nginx's client_body_timeout, only silence ends an upload).
"""
import os
import resource
import socket
import threading
import time

import pytest

from conftest import ServerProcess, build_request, wait_until

TIMEOUT = 1  # --channel-timeout for the slow-client tests (seconds)
CLEANUP = 1  # --cleanup-interval
# A cut happens at the first sweep after TIMEOUT of silence: at most TIMEOUT + CLEANUP,
# plus scheduling noise on a loaded machine.
CUT_BOUND = TIMEOUT + CLEANUP + 3.0
# "Promptly": far below the timeout scale of the attack, generous for a shared machine.
PROMPT = 1.5


class Attackers:
    """`count` connections that each send `first` and then one byte of `rest` every
    `interval` seconds from a thread, until the server closes them or stop() is called.
    Records when each connection was closed by the server (monotonic time), or None."""

    def __init__(self, server, count: int, first: bytes, rest: bytes, interval: float):
        self.clients = [server.connect() for _ in range(count)]
        self.closed_at: list[float | None] = [None] * count
        self.sent = [0] * count
        self.first, self.rest, self.interval = first, rest, interval
        self.stopping = threading.Event()
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)
        for client in self.clients:
            client.sock.settimeout(0)
            client.send(first)
        self.thread.start()

    def _poll_closed(self, i: int) -> None:
        try:
            data = self.clients[i].sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data == b"":
            self.closed_at[i] = time.monotonic()
        else:
            self.clients[i].buf += data

    def _run(self):
        # Polls every 20 ms (so a close is timed closely); sends at the attack's pace.
        next_send = time.monotonic() + self.interval
        while not self.stopping.is_set():
            send_now = time.monotonic() >= next_send
            if send_now:
                next_send += self.interval
            for i, client in enumerate(self.clients):
                if self.closed_at[i] is not None:
                    continue
                self._poll_closed(i)
                if not send_now or self.closed_at[i] is not None or self.sent[i] >= len(self.rest):
                    continue
                try:
                    client.sock.send(self.rest[self.sent[i]:self.sent[i] + 1])
                    self.sent[i] += 1
                except OSError:
                    self.closed_at[i] = time.monotonic()
            if all(t is not None for t in self.closed_at):
                return
            self.stopping.wait(0.02)

    def all_closed(self) -> bool:
        return all(t is not None for t in self.closed_at)

    def stop(self):
        self.stopping.set()
        self.thread.join(10)
        for client in self.clients:
            client.close()


def timed_echo(server, body: bytes = b"bystander") -> float:
    """One request on a new connection (a GET without a body if `body` is empty);
    returns its latency after checking the echo."""
    started = time.monotonic()
    resp = server.request("POST" if body else "GET", "/echo", body, timeout=10)
    elapsed = time.monotonic() - started
    assert resp.status == 200 and resp.body == body
    return elapsed


def serve_bystanders_until(server, done, limit: float, body=b"bystander") -> list[float]:
    """Requests on fresh connections, one after another, until done() or `limit` s."""
    latencies = []
    deadline = time.monotonic() + limit
    while not done() and time.monotonic() < deadline:
        latencies.append(timed_echo(server, body))
        time.sleep(0.05)
    return latencies


# --- slowloris: a request head one byte at a time ------------------------------------------

def test_slowloris_head_paced_slower_than_the_timeout_is_cut(start_server):
    # Each attacker sends one byte of a head, then nothing for longer than channel_timeout
    # (the next byte would come after 10 s): every one is cut after about channel_timeout,
    # silently, while bystanders on other connections are served at once.
    server = start_server(f"--channel-timeout={TIMEOUT}", f"--cleanup-interval={CLEANUP}",
                          "--threads=1")
    head = build_request("GET", "/echo")
    attack = Attackers(server, 20, head[:1], head[1:], interval=10.0)
    try:
        latencies = serve_bystanders_until(server, attack.all_closed, limit=CUT_BOUND + 2)
        assert wait_until(attack.all_closed, timeout=CUT_BOUND), (
            f"{attack.closed_at.count(None)} of 20 slow heads still open after {CUT_BOUND} s")
        lifetimes = [t - attack.started for t in attack.closed_at]
        assert min(lifetimes) >= TIMEOUT * 0.5, lifetimes  # not cut before the timeout
        assert max(lifetimes) <= CUT_BOUND, lifetimes
        assert all(c.buf == b"" for c in attack.clients), "a partial head got a response"
        assert latencies and max(latencies) < PROMPT, latencies
    finally:
        attack.stop()
    assert timed_echo(server) < PROMPT


def test_slowloris_head_trickling_within_the_timeout_is_cut_after_channel_timeout(
        start_server):
    # A byte every 0.1 s is activity, so waitress's idle timeout alone would never cut it
    # (only max_request_header_size would, after hours at the default). waitron also wants
    # a request head complete within channel_timeout of its first byte: each attacker is
    # cut silently at the first sweep after that, while bystanders are served at once, even
    # with one application thread (a partial head never reaches it).
    server = start_server(f"--channel-timeout={TIMEOUT}", f"--cleanup-interval={CLEANUP}",
                          "--threads=1")
    head = b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
    attack = Attackers(server, 10, head[:1], head[1:], interval=0.1)
    try:
        latencies = serve_bystanders_until(server, attack.all_closed, limit=CUT_BOUND + 2,
                                           body=b"")
        assert wait_until(attack.all_closed, timeout=CUT_BOUND), (
            f"{attack.closed_at.count(None)} of 10 trickling heads still open after "
            f"{CUT_BOUND} s")
        lifetimes = [t - attack.started for t in attack.closed_at]
        assert min(lifetimes) >= TIMEOUT * 0.5 and max(lifetimes) <= CUT_BOUND, lifetimes
        assert all(s < len(head) - 1 for s in attack.sent), "a head was sent whole"
        assert all(c.buf == b"" for c in attack.clients), "a partial head got a response"
        assert latencies and max(latencies) < PROMPT, latencies
    finally:
        attack.stop()
    assert server.wait_for_log("whose request head took longer than channel_timeout")


# --- a request body trickling in -------------------------------------------------------------

def test_slow_body_paced_slower_than_the_timeout_is_cut_and_blocks_nobody(start_server):
    # The body is read before the request reaches the (only) application thread, so a
    # stalled body holds no thread; after channel_timeout of silence it is cut silently.
    server = start_server(f"--channel-timeout={TIMEOUT}", f"--cleanup-interval={CLEANUP}",
                          "--threads=1")
    body = b"b" * 1000
    request = build_request("POST", "/echo", body)
    head_end = request.index(b"\r\n\r\n") + 4
    attack = Attackers(server, 10, request[:head_end + 10], request[head_end + 10:],
                       interval=10.0)
    try:
        latencies = serve_bystanders_until(server, attack.all_closed, limit=CUT_BOUND + 2)
        assert wait_until(attack.all_closed, timeout=CUT_BOUND), (
            f"{attack.closed_at.count(None)} of 10 slow bodies still open after {CUT_BOUND} s")
        lifetimes = [t - attack.started for t in attack.closed_at]
        assert min(lifetimes) >= TIMEOUT * 0.5 and max(lifetimes) <= CUT_BOUND, lifetimes
        assert all(c.buf == b"" for c in attack.clients), "a partial body got a response"
        assert latencies and max(latencies) < PROMPT, latencies
    finally:
        attack.stop()


def test_slow_body_trickling_is_bounded_by_the_body_limit(start_server):
    # A chunked body trickling within the timeout stays alive (it is active) until it
    # passes max_request_body_size: then a 413 and a close. Bystanders are served at once.
    server = start_server(f"--channel-timeout={TIMEOUT}", f"--cleanup-interval={CLEANUP}",
                          "--threads=1", "--max-request-body-size=20")
    head = build_request("POST", "/echo", headers=[("Transfer-Encoding", "chunked")])
    chunks = b"".join(b"1\r\nx\r\n" for _ in range(40))  # 40 one-byte chunks
    attack = Attackers(server, 10, head, chunks, interval=0.05)
    try:
        latencies = serve_bystanders_until(server, attack.all_closed, limit=20)
        assert wait_until(attack.all_closed, timeout=20), "the body limit did not end it"
        for client in attack.clients:
            assert client.buf[:12] in (b"HTTP/1.0 413", b"HTTP/1.1 413"), bytes(client.buf[:80])
        # 21 body bytes need 21 chunks of 6 bytes at 20 bytes/s: alive past the timeout.
        lifetimes = [t - attack.started for t in attack.closed_at]
        assert min(lifetimes) > TIMEOUT, lifetimes
        assert latencies and max(latencies) < PROMPT, latencies
    finally:
        attack.stop()


# --- 10,000 idle keep-alive connections ------------------------------------------------------

IDLE_CONNECTIONS = 10_000


def _raise_nofile(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {needed}")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed if hard == resource.RLIM_INFINITY
                                                    else hard, hard))


def _open_fds(pid: int) -> int:
    import os
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_10000_idle_keep_alive_connections_and_new_requests_still_served(fixture_exe, tmp_dir):
    # The test holds 10,000 client sockets and the server 10,000 accepted ones: both need
    # RLIMIT_NOFILE above that (the server inherits the raised limit from this process).
    _raise_nofile(IDLE_CONNECTIONS + 1000)
    server = ServerProcess(fixture_exe, [f"--connection-limit={IDLE_CONNECTIONS + 500}",
                                         "--backlog=4096"], "tcp", tmp_dir)
    clients = []
    try:
        assert server.request("GET", "/echo").status == 200  # warm-up before the baseline
        rss_before, fds_before = server.rss_kib(), _open_fds(server.pid)
        request = build_request("GET", "/echo?idle")
        deadline = time.monotonic() + 120
        for i in range(IDLE_CONNECTIONS):
            assert time.monotonic() < deadline, f"only {i} connections opened in 120 s"
            client = server.connect()
            clients.append(client)
            client.send(request)
            resp = client.read_response()
            assert resp.status == 200 and resp.header("Connection") is None, i
        rss_after, fds_after = server.rss_kib(), _open_fds(server.pid)
        per_connection = (rss_after - rss_before) * 1024 / IDLE_CONNECTIONS
        print(f"\n{IDLE_CONNECTIONS} idle keep-alive connections: server VmRSS "
              f"{rss_before} -> {rss_after} KiB ({per_connection:.0f} bytes per connection), "
              f"open fds {fds_before} -> {fds_after}")
        # Every one is really held open. (Not a difference: the warm-up connection may
        # still be lingering in the baseline.)
        assert fds_after >= IDLE_CONNECTIONS, (fds_before, fds_after)
        # An idle connection keeps no parser or buffers (its exchange goes back to the
        # server's spares): about 400 bytes in the unsanitised builds, 3,200 before that.
        if os.environ.get("WAITRON_SANITIZED") == "0":
            assert per_connection < 1024, per_connection
        # New clients are still served while all of them are held, and promptly.
        for _ in range(5):
            assert timed_echo(server) < 5.0
        # So are idle ones, picked across the range.
        for i in range(0, IDLE_CONNECTIONS, IDLE_CONNECTIONS // 10):
            resp = clients[i].request("POST", f"/echo?again={i}", b"again")
            assert resp.status == 200 and resp.body == b"again"
    finally:
        for client in clients:
            client.close()
        server.stop()


# --- connection_limit: clients waiting in the backlog ----------------------------------------

def test_clients_waiting_at_the_connection_limit_are_all_served_as_others_leave(start_server):
    server = start_server("--connection-limit=2")
    holders = [server.connect(), server.connect()]
    waiting = []
    try:
        for i, holder in enumerate(holders):
            assert holder.request("GET", f"/echo?h={i}").status == 200
        # Five clients queue in the kernel's backlog; none is answered while both slots
        # are held.
        for i in range(5):
            client = server.connect()
            client.send(build_request("GET", f"/echo?w={i}", headers=[("Connection", "close")]))
            waiting.append(client)
        assert server.wait_for_log("reached the connection limit")
        assert all(not c.closed_by_server(0.3) and c.buf == b"" for c in waiting)
        # One slot frees: the waiting clients pass through it one after another (each
        # response closes its connection, which frees the slot for the next).
        holders.pop().close()
        for i, client in enumerate(waiting):
            resp = client.read_response()
            assert resp.status == 200 and resp.header("X-Query") == f"w={i}"
            assert client.closed_by_server(5)
            client.close()  # else the server lingers (up to 2 s) draining it, holding the slot
        # The remaining holder was never disturbed.
        assert holders[0].request("GET", "/echo?h=0").status == 200
    finally:
        for client in holders + waiting:
            client.close()


def test_an_idle_connection_timing_out_frees_a_slot_for_a_waiting_client(start_server):
    server = start_server("--connection-limit=1", f"--channel-timeout={TIMEOUT}",
                          f"--cleanup-interval={CLEANUP}")
    idle = server.connect()
    waiting = None
    try:
        assert idle.request("GET", "/echo?idle").status == 200
        waiting = server.connect()
        started = time.monotonic()
        waiting.send(build_request("GET", "/echo?waiting"))
        resp = waiting.read_response()  # served once the idle connection is swept
        assert resp.status == 200 and resp.header("X-Query") == "waiting"
        assert time.monotonic() - started <= CUT_BOUND
        assert idle.closed_by_server(1)
    finally:
        idle.close()
        if waiting:
            waiting.close()
