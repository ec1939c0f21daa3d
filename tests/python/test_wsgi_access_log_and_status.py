"""The access log and the live status of a WSGI server (waitron only): lines written for a
WSGI app through waitron.server, rotation by rename + SIGUSR1 handled by run(), and the
Python API: stats(), reopen_access_log() and the status listener's /metrics.

The log tests run fixture apps in child processes (conftest.py's start_server, over TCP and
a Unix socket); the API tests run create_server() in this process, run() on a thread.
"""
import json
import os
import re
import signal
import socket
import time
import urllib.request

import pytest

from conftest import Running, request_bytes

pytestmark = pytest.mark.waitron_only

COMBINED = re.compile(
    r'^(?P<peer>\S+) - - \[[^\]]+\] "(?P<request>[^"]*)" (?P<status>\d{3}) (?P<bytes>\d+) '
    r'"(?P<referer>[^"]*)" "(?P<agent>[^"]*)" (?P<duration>\d+) "(?P<xff>[^"]*)"$')


def lines_of(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(0.02)


def test_lines_for_a_wsgi_app(start_server, work_dir, transport):
    path = os.path.join(work_dir, "access.log")
    server = start_server("echo:app_body_only", access_log=path)
    resp = server.request("POST", "/up?q=1", headers=[
        ("Host", "x"), ("X-Forwarded-For", "203.0.113.9"), ("User-Agent", "pytest")],
        body=b"0123456789")
    assert resp.status == 200 and resp.body == b"0123456789"
    with server.connect() as client:
        client.send(b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n")  # duplicate Host: 400
        assert client.read_response().status == 400
    lines = wait_for(lambda: len(lines_of(path)) >= 2 and lines_of(path))
    assert lines and len(lines) == 2, lines_of(path)
    matches = [COMBINED.match(line) for line in lines]
    assert all(matches), lines
    # A line is queued when its response is complete, application's close() included, so
    # the first connection's line may come second: they are told apart by status.
    refused, ok = sorted(matches, key=lambda m: m["status"], reverse=True)
    assert ok["peer"] == ("127.0.0.1" if transport == "tcp" else "localhost")
    assert ok["request"] == "POST /up?q=1 HTTP/1.1"
    assert (ok["status"], ok["bytes"]) == ("200", "10")
    assert ok["xff"] == "203.0.113.9"  # the raw field, whatever the proxy settings
    assert ok["agent"] == "pytest"
    assert (refused["request"], refused["status"]) == ("GET / HTTP/1.1", "400")


def test_json_lines_for_a_wsgi_app(start_server, work_dir):
    path = os.path.join(work_dir, "access.json")
    server = start_server("echo:app_body_only", access_log=path, access_log_format="json")
    assert server.request("GET", "/j", headers=[("Host", "x"), ("Referer", "r\"1")]).status == 200
    lines = wait_for(lambda: lines_of(path))
    record = json.loads(lines[0])
    assert (record["method"], record["target"], record["status"]) == ("GET", "/j", 200)
    assert record["referer"] == 'r"1'
    assert record["x_forwarded_for"] is None


def test_sigusr1_reopens_the_log_in_run(start_server, work_dir):
    path = os.path.join(work_dir, "access.log")
    rotated = path + ".1"
    server = start_server("echo:app_body_only", access_log=path)
    for i in range(2):
        assert server.request("GET", f"/before{i}", headers=[("Host", "x")]).status == 200
    assert wait_for(lambda: len(lines_of(path)) == 2)
    os.rename(path, rotated)
    os.kill(server.proc.pid, signal.SIGUSR1)
    sent = 0
    for i in range(100):
        assert server.request("GET", f"/after{i}", headers=[("Host", "x")]).status == 200
        sent += 1
        if wait_for(lambda: lines_of(path), 0.2):
            break
    new = lines_of(path)
    assert new and all("/after" in line for line in new), new
    old = lines_of(rotated)
    assert [("/before" in line) for line in old[:2]] == [True, True]
    assert wait_for(lambda: len(lines_of(rotated)) + len(lines_of(path)) == 2 + sent)
    assert server.proc.poll() is None  # SIGUSR1 did not kill it


# --- the Python API, in this process --------------------------------------------------------

def hello_app(environ, start_response):
    body = environ["wsgi.input"].read() or b"hello"
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


def exchange(port, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
        return out


def test_stats_count_the_traffic():
    from waitron.server import create_server
    server = create_server(hello_app, listen="127.0.0.1:0", threads=2)
    keys = {"connections_open", "connections_accepted", "requests_in_flight", "requests_served",
            "queue_depth", "busy_threads", "bytes_received", "bytes_sent", "access_log_lines",
            "access_log_dropped"}
    assert set(server.stats()) == keys
    port = int(server.effective_port)
    sent = received = 0
    with Running(server):
        for i in range(5):
            request = request_bytes("POST", "/", [("Host", "x")], b"y" * (10 * i),
                                    version="HTTP/1.0")
            reply = exchange(port, request)
            assert reply.startswith(b"HTTP/1.0 200 ")
            sent += len(request)
            received += len(reply)
        stats = wait_for(lambda: (lambda s: s["connections_open"] == 0 and s)(server.stats()))
    assert stats, server.stats()
    assert stats["requests_served"] == 5
    assert stats["connections_accepted"] == 5
    assert stats["bytes_received"] == sent
    assert stats["bytes_sent"] == received
    assert stats["requests_in_flight"] == 0 and stats["busy_threads"] == 0
    assert stats["access_log_lines"] == 0


def test_reopen_access_log_method(tmp_path):
    from waitron.server import create_server
    path = str(tmp_path / "a.log")
    server = create_server(hello_app, listen="127.0.0.1:0", access_log=path)
    port = int(server.effective_port)
    with Running(server):
        exchange(port, b"GET /one HTTP/1.0\r\n\r\n")
        assert wait_for(lambda: lines_of(path))
        os.rename(path, path + ".old")
        server.reopen_access_log()
        exchange(port, b"GET /two HTTP/1.0\r\n\r\n")
        assert wait_for(lambda: lines_of(path))
        assert server.stats()["access_log_lines"] == 2
    assert "/one" in lines_of(path + ".old")[0]
    assert "/two" in lines_of(path)[0]


def test_status_listen_serves_metrics():
    from waitron.server import create_server
    server = create_server(hello_app, listen="127.0.0.1:0", status_listen="127.0.0.1:0")
    (host, status_port, _fd), = server._core.server.status_addresses()
    port = int(server.effective_port)
    with Running(server):
        exchange(port, b"GET / HTTP/1.0\r\n\r\n")
        url = f"http://127.0.0.1:{status_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE waitron_requests_served_total counter" in text
    assert re.search(r"^waitron_requests_served_total 1$", text, re.M)
    assert re.search(r"^waitron_connections_accepted_total 1$", text, re.M)
