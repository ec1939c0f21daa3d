"""Connections over time: idle timeouts, the connection limit, clients that vanish,
graceful shutdown and concurrency.

Each test runs over TCP and over a Unix socket (the `transport` fixture).
"""
import subprocess
import threading
import time

import pytest

from conftest import ServerProcess, build_request, wait_until


def state(server) -> dict:
    resp = server.request("GET", "/state")
    assert resp.status == 200
    return dict(line.split("=") for line in resp.body.decode().split())


# --- 8. idle timeout ---------------------------------------------------------------------------

def test_idle_connections_time_out_but_running_requests_do_not(start_server):
    server = start_server("--channel-timeout=1", "--cleanup-interval=1")
    idle = server.connect()
    partial = server.connect()
    busy = server.connect()
    try:
        assert idle.request("GET", "/echo").status == 200
        partial.send(b"GET /echo HTTP/1.1\r\nHost: x\r\n")  # a head that never ends
        started = time.monotonic()
        busy.send(build_request("GET", "/sleep?ms=2500"))

        assert idle.closed_by_server(6), "an idle keep-alive connection was not closed"
        elapsed = time.monotonic() - started
        assert 0.5 < elapsed < 4.5, elapsed
        # A partial request is not a request: it times out too, silently (no 408).
        assert partial.closed_by_server(6)
        assert partial.buf == b""

        resp = busy.read_response()
        assert resp.status == 200 and resp.body == b"slept"
        assert time.monotonic() - started >= 2.5
    finally:
        for client in (idle, partial, busy):
            client.close()


# --- 9. connection_limit -----------------------------------------------------------------------

def test_connection_limit_defers_new_connections(start_server):
    server = start_server("--connection-limit=2")
    first, second = server.connect(), server.connect()
    third = None
    try:
        assert first.request("GET", "/echo?c=1").status == 200
        assert second.request("GET", "/echo?c=2").status == 200
        third = server.connect()  # the kernel's backlog takes it
        third.send(build_request("GET", "/echo?c=3"))
        assert not third.closed_by_server(0.5)
        assert third.buf == b"", "a third connection was served past the limit"
        assert server.wait_for_log("reached the connection limit")

        first.close()
        resp = third.read_response()
        assert resp.status == 200 and resp.header("X-Query") == "c=3"
        assert second.request("GET", "/echo?c=2").status == 200
        assert server.wait_for_log("dropped below the connection limit, listening again")
    finally:
        for client in (first, second, third):
            if client:
                client.close()


# --- 10. client disconnects ---------------------------------------------------------------------

def test_disconnect_while_the_request_runs_is_seen(server):
    assert state(server)["last_disconnect_seen"] == "0"
    client = server.connect()
    client.send(build_request("GET", "/wait-disconnect?ms=5000"))
    # The request must have reached the application before the close: a round trip on
    # another connection after the send proves it was read (same loop, earlier bytes).
    assert server.request("GET", "/echo").status == 200
    started = time.monotonic()
    client.close()
    # Bounded retries of /state until the first request stored its result.
    seen = wait_until(lambda: state(server)["last_disconnect_seen"] == "1", timeout=8)
    assert seen, "client_disconnected() never became true"
    assert time.monotonic() - started < 4, "the disconnect was seen only at the end of the wait"
    assert server.request("POST", "/echo", b"alive").body == b"alive"


def test_disconnect_mid_response_stops_the_stream(server):
    client = server.connect()
    client.send(build_request("GET", "/stream-until-disconnect"))
    head = client.read_head()
    assert head.status == 200
    client.read_exact(4096)
    client.close()
    ended = wait_until(lambda: state(server)["streams_ended_by_disconnect"] == "1", timeout=8)
    assert ended, "write() never threw ClientDisconnected"
    assert server.wait_for_log("INFO:waitron:Client disconnected while serving /stream-until-disconnect")
    assert server.request("POST", "/echo", b"alive").body == b"alive"


# --- 11. graceful close ---------------------------------------------------------------------

def test_sigterm_lets_the_running_request_finish(start_server):
    server = start_server()
    running = server.connect()
    idle = server.connect()
    try:
        running.send(build_request("GET", "/sleep?ms=1500"))
        # A round trip on the second connection proves the first request was read.
        assert idle.request("GET", "/echo").status == 200
        server.terminate()
        assert idle.closed_by_server(5), "an idle connection survived the shutdown"
        idle.close()  # else the server lingers, draining it, for up to 2 s
        resp = running.read_response()
        assert resp.status == 200 and resp.body == b"slept" and resp.complete
        assert resp.header("Connection") == "close"
        assert running.closed_by_server(5)
        running.close()
        assert server.terminate_and_wait() == 0
    finally:
        running.close()
        idle.close()


def test_sigterm_serves_the_first_request_of_a_connection_accepted_just_before(start_server):
    # With worker processes a replaced worker may have accepted a connection whose request
    # is still on its way; closing it would fail a client that did nothing wrong.
    server = start_server()
    fresh = server.connect()
    other = server.connect()
    try:
        # Accepted in order: once the second connection is served, the first is accepted.
        assert other.request("GET", "/echo").status == 200
        server.terminate()
        assert other.closed_by_server(5), "an idle connection survived the shutdown"
        resp = fresh.request("GET", "/echo")
        assert resp.status == 200 and resp.header("Connection") == "close"
        assert fresh.closed_by_server(5)
        assert server.terminate_and_wait() == 0
    finally:
        fresh.close()
        other.close()


# Regression: close() used to wait without bound for a request whose client stopped reading
# (its application thread waits for room below outbuf_high_watermark). Requests still running
# 5 s after SIGTERM are now cut, as waitress cancels its tasks.
def test_sigterm_is_not_blocked_by_a_client_that_stops_reading(fixture_exe, tmp_dir):
    # Transport-independent: TCP only.
    server = ServerProcess(fixture_exe, [], "tcp", tmp_dir)
    client = server.connect()
    try:
        client.send(build_request("GET", f"/bytes?size={1 << 30}"))
        assert client.read_head().status == 200  # under way; it stalls once buffers fill
        server.terminate()
        try:
            status = server.proc.wait(8)
        except subprocess.TimeoutExpired:
            status = None
        assert status == 0, "the server did not exit within 8 s of SIGTERM"
    finally:
        client.close()  # releases the response: the server must now exit cleanly
        server.stop()


# --- 13. concurrency ---------------------------------------------------------------------------

def test_concurrent_clients_get_their_own_echoes(server):
    errors = []

    def client_thread(t):
        try:
            with server.connect() as client:
                for j in range(5):
                    body = f"<client {t} request {j}>".encode() * (1 + 97 * j)
                    resp = client.request("POST", f"/echo?t={t}&j={j}", body)
                    assert resp.status == 200
                    assert resp.header("X-Query") == f"t={t}&j={j}"
                    assert resp.body == body
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(f"client {t}: {e!r}")

    threads = [threading.Thread(target=client_thread, args=(t,)) for t in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []


def test_a_slow_request_does_not_delay_another_connection(server):
    with server.connect() as slow, server.connect() as quick:
        started = time.monotonic()
        slow.send(build_request("GET", "/sleep?ms=1000"))
        assert quick.request("POST", "/echo", b"quick").body == b"quick"
        assert time.monotonic() - started < 0.8
        assert slow.read_response().body == b"slept"
        assert time.monotonic() - started >= 1.0


def test_requests_of_one_connection_run_in_order(server):
    # Pipelined behind a slow request, a quick one waits for it (one at a time, in order).
    with server.connect() as client:
        started = time.monotonic()
        client.send(build_request("GET", "/sleep?ms=300") + build_request("GET", "/echo?after=1"))
        assert client.read_response().body == b"slept"
        resp = client.read_response()
        assert resp.header("X-Query") == "after=1"
        assert time.monotonic() - started >= 0.3
