"""Live status (status_listen) through the real server: GET /metrics on its own port in
the Prometheus text format, with counters that match the traffic sent; other paths 404,
other methods 405; a status address equal to the application's is refused at start.

Each test runs with the application over TCP and over a Unix socket (the `transport`
fixture); the status listener is always TCP.
"""
import re
import socket
import subprocess
import threading
import time

from conftest import Client, build_request, wait_until

STATUS_LINE = re.compile(r"Serving status on http://127\.0\.0\.1:(\d+)/metrics")


def status_port(server) -> int:
    assert server.wait_for_log("Serving status on"), server.stderr_text()
    return int(STATUS_LINE.search(server.stderr_text())[1])


class CountingClient(Client):
    """A Client that counts the bytes it receives."""

    received = 0

    def _fill(self) -> bool:
        before = len(self.buf)
        more = super()._fill()
        self.received += len(self.buf) - before
        return more


def raw(address, data: bytes) -> bytes:
    """Sends `data` on a new connection and returns every byte until the server closes."""
    if isinstance(address, tuple):
        sock = socket.create_connection(address, timeout=10)
    else:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10)
        sock.connect(address)
    with sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
        return out


def scrape(port, method="GET", path="/metrics"):
    reply = raw(("127.0.0.1", port), f"{method} {path} HTTP/1.0\r\n\r\n".encode())
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, head.decode("latin-1"), body.decode()


def metrics(port) -> dict:
    status, head, text = scrape(port)
    assert status == 200, head
    assert "Content-Type: text/plain; version=0.0.4; charset=utf-8" in head
    values = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        name, value = line.split(" ")
        values[name] = int(value)
    for name in values:
        assert f"# HELP {name} " in text and f"# TYPE {name} " in text
    return values


def test_counters_match_the_traffic(start_server):
    server = start_server("--status-listen=127.0.0.1:0", "--threads=2")
    port = status_port(server)
    before = metrics(port)
    assert before["waitron_requests_served_total"] == 0
    assert before["waitron_connections_accepted_total"] == 0
    sent = received = 0
    n = 7
    for i in range(n):
        request = build_request("POST", "/echo", b"x" * (100 * i), version="HTTP/1.0")
        reply = raw(server.address, request)
        assert reply.startswith(b"HTTP/1.0 200 ")
        sent += len(request)
        received += len(reply)
    # Two more on one keep-alive connection, every byte received counted.
    with CountingClient(server.connect().sock) as client:
        for body in (b"abc", b"defgh"):
            request = build_request("POST", "/echo", body)
            client.send(request)
            resp = client.read_response()
            assert resp.status == 200 and resp.body == body
            sent += len(request)
        assert not client.buf
        received += client.received
        open_now = wait_until(lambda: metrics(port)["waitron_connections_open"] == 1, 10)
        assert open_now, "the keep-alive connection is not counted as open"
    final = wait_until(lambda: (lambda m: m["waitron_connections_open"] == 0 and m)(metrics(port)),
                       10)
    assert final, metrics(port)
    assert final["waitron_requests_served_total"] == n + 2
    assert final["waitron_connections_accepted_total"] == n + 1
    assert final["waitron_received_bytes_total"] == sent
    assert final["waitron_requests_in_flight"] == 0
    assert final["waitron_queue_depth"] == 0
    assert final["waitron_busy_threads"] == 0
    assert final["waitron_sent_bytes_total"] == received


def test_requests_in_flight_and_busy_threads(start_server):
    server = start_server("--status-listen=127.0.0.1:0", "--threads=1")
    port = status_port(server)
    replies = []

    def slow():
        replies.append(raw(server.address, build_request("GET", "/sleep?ms=3000",
                                                          version="HTTP/1.0")))

    waiter = threading.Thread(target=slow)
    waiter.start()
    try:
        busy = wait_until(lambda: (lambda m: m["waitron_busy_threads"] == 1 and m)(metrics(port)),
                          10)
        assert busy, metrics(port)
        assert busy["waitron_requests_in_flight"] == 1
        assert busy["waitron_connections_open"] == 1
        # The status listener answers although the only application thread is busy.
    finally:
        waiter.join(15)
    assert replies and replies[0].startswith(b"HTTP/1.0 200 ")


def test_paths_and_methods(start_server):
    server = start_server("--status-listen=127.0.0.1:0")
    port = status_port(server)
    assert scrape(port, path="/")[0] == 404
    assert scrape(port, path="/metricsx")[0] == 404
    status, head, _ = scrape(port, method="POST")
    assert status == 405 and "Allow: GET, HEAD" in head
    status, head, body = scrape(port, method="HEAD")
    assert status == 200 and body == "" and "Content-Length: " in head
    assert scrape(port, path="/metrics?name[]=x")[0] == 200
    # The application's port does not serve the metrics: the fixture answers 404 there.
    resp = server.request("GET", "/metrics")
    assert resp.status == 404 and b"waitron_" not in resp.body
    # Scrapes are not counted as client traffic.
    assert metrics(port)["waitron_requests_served_total"] == 1


def test_status_listen_may_not_be_an_application_address(fixture_exe):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.run([fixture_exe, f"--listen=127.0.0.1:{port}",
                           f"--status-listen=127.0.0.1:{port}"],
                          capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1
    assert b"is one of the application's listen addresses" in proc.stderr


def test_slowloris_clients_cannot_take_every_status_connection(start_server):
    # 16 connections (the listener's limit) trickle a head a byte every 0.2 s, never idle
    # for channel_timeout: each is cut channel_timeout after its first byte, so /metrics
    # answers again soon after.
    server = start_server("--status-listen=127.0.0.1:0", "--channel-timeout=1",
                          "--cleanup-interval=1")
    port = status_port(server)
    attackers = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(16)]
    stop = threading.Event()

    def trickle():
        head = b"GET /metrics HTTP/1.1\r\nX-Slow: " + b"a" * 200
        for i in range(len(head)):
            for sock in attackers:
                try:
                    sock.send(head[i:i + 1])
                except OSError:
                    pass
            if stop.wait(0.2):
                return

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        time.sleep(0.3)  # the 16 are accepted; the listener pauses at its limit
        # This scrape waits in the backlog until a slot frees: at the first sweep 1 s after
        # the attackers' first byte (their heads would take 40 s to arrive). Without the
        # head deadline it would time out (10 s).
        started = time.monotonic()
        assert "waitron_connections_open" in metrics(port)
        assert time.monotonic() - started < 8
    finally:
        stop.set()
        thread.join(5)
        for sock in attackers:
            sock.close()
