"""Application threads: a slow request does not hold up another (waitress's
SleepyThreadTests, with getline.py clients), `threads` requests run at once, a pure-Python
busy app leaves the GIL to the other threads (the server releases it while it waits), and
SIGTERM lets a request in flight finish; over TCP and a Unix socket."""
import os
import select
import signal
import subprocess
import time

from conftest import PYTHON, request_bytes

GETLINE = os.path.join(os.path.dirname(__file__), "fixtureapps", "getline.py")


def url(server, path):
    if server.transport == "tcp":
        return "http://%s:%d%s" % (server.address[0], server.address[1], path)
    return f"unix:{server.address}:{path}"


def test_sleepy_requests_do_not_block_a_quick_one(start_server):
    server = start_server("sleepy:app", threads=4)
    paths = ["/sleepy", "/sleepy", "/sleepy", "/"]
    start = time.monotonic()
    procs = [subprocess.Popen([PYTHON, GETLINE, url(server, p)], stdout=subprocess.PIPE)
             for p in paths]
    finished = []  # (seconds since start, path, line)
    pending = {p.stdout.fileno(): (p, path) for p, path in zip(procs, paths)}
    try:
        while pending and time.monotonic() - start < 10:
            ready, _, _ = select.select(list(pending), [], [], 10)
            for fd in ready:
                proc, path = pending.pop(fd)
                line = proc.stdout.read().decode()
                finished.append((time.monotonic() - start, path, line))
    finally:
        for proc in procs:
            proc.kill() if proc.poll() is None else None
            proc.wait(5)
            proc.stdout.close()
    assert [(path, line) for _, path, line in finished] == [
        ("/", "notsleepy returned")] + [("/sleepy", "sleepy returned")] * 3
    assert finished[0][0] < 1.5, finished
    assert 1.9 < finished[-1][0] < 4.0, finished  # three sleeps at once, not in a row


def test_busy_python_app_does_not_stop_another_connection(start_server):
    server = start_server("sleepy:app", threads=4)
    with server.connect() as busy, server.connect() as quick:
        busy.send(request_bytes("GET", "/busy"))
        head = busy.read_head()
        assert head.status == 200 and head.header("Transfer-Encoding") == "chunked"
        assert busy.read_chunk() == b"started\n"
        begin = time.monotonic()  # the busy app spins from here for 2 s
        resp = quick.request("GET", "/")
        elapsed = time.monotonic() - begin
        assert resp.body == b"notsleepy returned"
        assert elapsed < 1.0, f"answered after {elapsed:.2f} s"
        assert busy.read_chunk() == b"busy returned"
        assert busy.read_chunk() == b""
        assert time.monotonic() - begin > 1.5


def test_sigterm_lets_the_request_in_flight_finish(start_server):
    server = start_server("sleepy:app")
    with server.connect() as c:
        c.send(request_bytes("GET", "/started_sleepy"))
        assert c.read_head().status == 200
        assert c.read_chunk() == b"started\n"
        server.proc.send_signal(signal.SIGTERM)
        assert c.read_chunk() == b"slept"
        assert c.read_chunk() == b""
    assert server.proc.wait(10) == 0
