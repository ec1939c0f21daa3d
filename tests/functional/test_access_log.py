"""The access log (access_log, access_log_format) through the real server: one line per
response with the right fields, error responses included, both formats, standard error, and
rotation by rename + SIGUSR1.

Each test runs over TCP and over a Unix socket (the `transport` fixture). The writer thread
writes lines shortly after each response, so tests wait (bounded) for lines to appear.
"""
import json
import os
import re
import signal
import socket

from conftest import wait_until

COMBINED = re.compile(
    r'^(?P<peer>\S+) - - \[(?P<time>\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] '
    r'"(?P<request>[^"]*)" (?P<status>\d{3}) (?P<bytes>\d+) "(?P<referer>[^"]*)" '
    r'"(?P<agent>[^"]*)" (?P<duration>\d+) "(?P<xff>[^"]*)"$')


def lines_of(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8").splitlines()
    except FileNotFoundError:
        return []


def wait_lines(path, n, timeout=10.0):
    lines = wait_until(lambda: len(lines_of(path)) >= n and lines_of(path), timeout)
    assert lines and len(lines) >= n, f"{path}: {lines}"
    return lines


def peer_of(server):
    return "127.0.0.1" if server.transport == "tcp" else "localhost"


def by_request(matches):
    """Lines of different connections in request order: a line is queued when its response
    is complete, which includes the application's close(), so a response the client has
    read whole may still be logged after the next connection's (the app thread can be
    descheduled between its last write and its finish)."""
    return sorted(matches, key=lambda m: m["request"])


def raw_exchange(server, data: bytes) -> bytes:
    with server.connect() as client:
        client.send(data)
        return client.read_until_eof()


def test_combined_lines_have_every_field(start_server, tmp_dir):
    path = os.path.join(tmp_dir, "access.log")
    server = start_server(f"--access-log={path}")
    resp = server.request("GET", "/bytes?size=1000", headers=[
        ("X-Forwarded-For", "10.0.0.1, 10.0.0.2"), ("User-Agent", 'agent "quoted"'),
        ("Referer", "http://ref.example/")])
    assert resp.status == 200
    resp = server.request("POST", "/echo", b"hello")
    assert resp.status == 200
    lines = wait_lines(path, 2)
    assert len(lines) == 2
    matches = [COMBINED.match(line) for line in lines]
    assert all(matches), lines
    first, second = by_request(matches)  # "GET /bytes..." sorts before "POST /echo..."
    assert first["peer"] == peer_of(server)
    assert first["request"] == "GET /bytes?size=1000 HTTP/1.1"
    assert first["status"] == "200"
    assert first["bytes"] == "1000"  # body bytes only
    assert first["referer"] == "http://ref.example/"
    assert first["agent"] == r"agent \x22quoted\x22"
    assert first["xff"] == "10.0.0.1, 10.0.0.2"
    assert int(first["duration"]) > 0
    assert second["request"] == "POST /echo HTTP/1.1"
    assert second["bytes"] == "5"
    assert second["xff"] == "-" and second["referer"] == "-"


def test_error_responses_are_logged(start_server, tmp_dir):
    path = os.path.join(tmp_dir, "access.log")
    server = start_server(f"--access-log={path}", "--max-request-body-size=10")
    assert raw_exchange(server, b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n").startswith(
        b"HTTP/1.0 400 ")  # the request line was not valid: waitress answers HTTP/1.0
    assert raw_exchange(
        server, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n").startswith(
        b"HTTP/1.1 413 ")
    resp = server.request("GET", "/error-before")
    assert resp.status == 500
    resp = server.request("GET", "/nowhere")
    assert resp.status == 404
    matches = [COMBINED.match(line) for line in wait_lines(path, 4)]
    assert all(matches), matches
    assert sorted((m["request"], m["status"]) for m in matches) == sorted([
        (r"GET /\x01 HTTP/1.1", "400"),
        ("POST /echo HTTP/1.1", "413"),
        ("GET /error-before HTTP/1.1", "500"),
        ("GET /nowhere HTTP/1.1", "404"),
    ])
    assert all(int(m["bytes"]) > 0 for m in matches)


def test_json_lines(start_server, tmp_dir):
    path = os.path.join(tmp_dir, "access.json")
    server = start_server(f"--access-log={path}", "--access-log-format=json")
    resp = server.request("GET", "/chunked?n=3", headers=[("User-Agent", "a\\b\u00e9")])
    assert resp.status == 200
    raw_exchange(server, b"NOT HTTP\r\n\r\n")
    lines = wait_lines(path, 2)
    good, bad = (json.loads(line) for line in lines)
    assert good["remote_addr"] == peer_of(server)
    assert good["request"] == "GET /chunked?n=3 HTTP/1.1"
    assert (good["method"], good["target"], good["protocol"]) == ("GET", "/chunked?n=3",
                                                                 "HTTP/1.1")
    assert good["status"] == 200
    assert good["bytes"] == len(resp.body)
    assert good["user_agent"] == "a\\b\u00e9"  # latin-1 bytes, one code point each
    assert good["referer"] is None and good["x_forwarded_for"] is None
    assert isinstance(good["duration_us"], int)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d", good["time"])
    assert bad["status"] == 400 and bad["method"] is None and bad["request"] == "NOT HTTP"


def test_rotation_by_rename_and_sigusr1(start_server, tmp_dir):
    path = os.path.join(tmp_dir, "access.log")
    rotated = path + ".1"
    server = start_server(f"--access-log={path}")
    for i in range(3):
        assert server.request("GET", f"/echo?before={i}").status == 200
    wait_lines(path, 3)
    os.rename(path, rotated)
    os.kill(server.pid, signal.SIGUSR1)
    # The reopen is handled by the loop and the writer thread: send requests until one
    # lands in the new file (bounded), then every later one must too.
    sent_after = 0
    for i in range(100):
        assert server.request("GET", f"/echo?after={i}").status == 200
        sent_after += 1
        if wait_until(lambda: lines_of(path), 0.2):
            break
    assert lines_of(path), "no line reached the reopened file"
    assert server.request("GET", "/echo?last").status == 200
    new = wait_until(lambda: any("last" in line for line in lines_of(path)) and lines_of(path),
                     10)
    old = lines_of(rotated)
    assert new, lines_of(path)
    assert [line for line in old if "before=" in line] == old[:3]
    assert not any("before=" in line for line in new)
    assert any("last" in line for line in new)
    assert len(old) + len(new) == 3 + sent_after + 1


def test_stderr_and_default_off(start_server):
    server = start_server("--access-log=-")
    assert server.request("GET", "/echo?to-stderr").status == 200
    assert server.wait_for_log('"GET /echo?to-stderr HTTP/1.1" 200 ')
    quiet = start_server()
    assert quiet.request("GET", "/echo?nowhere").status == 200
    assert quiet.request("GET", "/echo?sync").status == 200
    assert "/echo?nowhere" not in quiet.stderr_text()


def test_unwritable_access_log_fails_at_start(fixture_exe, tmp_dir):
    import subprocess
    proc = subprocess.run([fixture_exe, "--listen=127.0.0.1:0",
                           f"--access-log={tmp_dir}/no/such/dir/a.log"],
                          capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1
    assert b"access_log" in proc.stderr


def test_duration_covers_the_application_and_pipelining_keeps_order(start_server, tmp_dir):
    path = os.path.join(tmp_dir, "access.log")
    server = start_server(f"--access-log={path}")
    with server.connect() as client:
        client.send(b"GET /sleep?ms=200 HTTP/1.1\r\nHost: x\r\n\r\n"
                    b"GET /echo?second HTTP/1.1\r\nHost: x\r\n\r\n")
        assert client.read_response().body == b"slept"
        assert client.read_response().status == 200
    slow, second = (COMBINED.match(line) for line in wait_lines(path, 2))
    assert slow["request"] == "GET /sleep?ms=200 HTTP/1.1"
    assert int(slow["duration"]) >= 200_000  # a lower bound only: the app slept 200 ms
    assert second["request"] == "GET /echo?second HTTP/1.1"
