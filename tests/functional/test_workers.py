"""Worker processes of the C++ waitron-serve (src/runner/supervisor.hpp), with the native
demo app: its /pid names the worker that answered.

Every test runs a real supervisor and its workers over loopback TCP (and one over a Unix
socket), with bounded request counts and deadlines. The Python runner's workers (a WSGI
app, ``python3 -m waitron`` and waitron-serve MODULE:OBJECT) are tests/python/test_workers.py.
"""
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from conftest import ServerProcess, wait_until

DEADLINE = 15.0  # seconds for any supervisor event to show in the log


@pytest.fixture
def start_workers(serve_exe, tmp_dir):
    """start_workers(*flags, transport="tcp") -> a waitron-serve supervisor whose workers
    take one connection at a time (see distinct_pids), stopped (exit status 0 required) at
    teardown."""
    servers = []

    def start(*flags, transport="tcp"):
        server = ServerProcess(serve_exe, ["--connection-limit=1", *flags], transport, tmp_dir)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def pid_of(server) -> int:
    response = server.request("GET", "/pid")
    assert response.status == 200
    return int(response.body)


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def distinct_pids(server, count: int) -> set:
    """The pids of `count` distinct workers. The server runs with --connection-limit=1: a
    worker holding one connection stops accepting (the shared socket then gives the next
    connection to another worker), so `count` connections held open at once reach `count`
    workers. (With fresh connections one after another, the kernel wakes every idle worker
    and the same one may win the accept each time.)"""
    clients = []
    try:
        pids = set()
        for _ in range(count):
            clients.append(server.connect())
            response = clients[-1].request("GET", "/pid")
            assert response.status == 200
            pids.add(int(response.body))
        return pids
    finally:
        for client in clients:
            client.close()


def worker_pids_in_log(server, event: str) -> list:
    return [int(m[1]) for m in re.finditer(rf"worker (\d+) {event}", server.stderr_text())]


class Load:
    """A client thread making requests in a loop, each on a fresh connection, until stopped:
    every failure (a refused or reset connection, a status other than 200) is kept."""

    def __init__(self, server):
        self.server = server
        # (monotonic time the request was sent, pid) of every answered request: the time it
        # was sent, not answered, because this thread may take the answer's time late (after
        # the test saw an old worker exit), while a request sent after a worker exited cannot
        # have been answered by it.
        self.pids = []
        self.failures = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        deadline = time.monotonic() + 60  # bounded, whatever the test does
        while not self.stopping.is_set() and time.monotonic() < deadline:
            sent = time.monotonic()
            try:
                response = self.server.request("GET", "/pid", timeout=10)
                if response.status != 200:
                    self.failures.append(f"status {response.status}")
                else:
                    self.pids.append((sent, int(response.body)))
            except Exception as e:  # noqa: BLE001 - every failure counts
                self.failures.append(repr(e))

    def stop(self):
        self.stopping.set()
        self.thread.join(20)
        assert not self.thread.is_alive()


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_workers_serve_from_distinct_processes(start_workers, transport):
    server = start_workers("--workers=3", transport=transport)
    assert server.wait_for_log("ready", DEADLINE)
    pids = distinct_pids(server, 3)
    assert len(pids) == 3, f"only {pids} answered; log:\n{server.stderr_text()}"
    assert server.pid not in pids
    assert all(parent_of(pid) == server.pid for pid in pids)
    # A worker may answer before the supervisor has read its ready byte and logged it.
    wait_until(lambda: sorted(worker_pids_in_log(server, "ready")) == sorted(pids), DEADLINE)
    assert sorted(pids) == sorted(worker_pids_in_log(server, "ready"))


def test_killed_worker_is_replaced_with_a_growing_back_off(start_workers):
    server = start_workers("--workers=2")
    pids = distinct_pids(server, 2)
    assert len(pids) == 2
    victim = min(pids)
    delays = []
    for _ in range(3):
        ready_before = len(worker_pids_in_log(server, "ready"))
        os.kill(victim, signal.SIGKILL)
        assert server.wait_for_log(f"worker {victim} was killed by signal 9", DEADLINE)
        assert wait_until(lambda: len(worker_pids_in_log(server, "ready")) > ready_before,
                          DEADLINE), server.stderr_text()
        delays.append(float(re.search(rf"worker {victim} was killed by signal 9; starting "
                                      r"another in ([\d.]+) s", server.stderr_text())[1]))
        victim = worker_pids_in_log(server, "ready")[-1]
        # Service goes on: every request succeeds, from live workers only.
        for _ in range(10):
            assert alive(pid_of(server))
    # Workers that die within 5 s of their start again and again are restarted later and
    # later: 0.1, 0.2, 0.4 s (the first victim, started with the server, may have lived
    # longer than 5 s on a loaded machine: then 0.0, 0.1, 0.2).
    assert delays in ([0.1, 0.2, 0.4], [0.0, 0.1, 0.2]), server.stderr_text()


def test_sighup_under_load_refuses_no_connection(start_workers):
    server = start_workers("--workers=2")
    old = distinct_pids(server, 2)
    assert len(old) == 2
    load = Load(server)
    started = time.monotonic()
    try:
        # A second of steady load before the SIGHUP, and a second after the last old worker
        # exited.
        assert wait_until(lambda: len(load.pids) >= 20 and time.monotonic() - started > 1,
                          DEADLINE)
        os.kill(server.pid, signal.SIGHUP)
        for pid in old:
            assert server.wait_for_log(f"worker {pid} exited with status 0", DEADLINE), \
                server.stderr_text()
        replaced_at = time.monotonic()
        count = len(load.pids)
        assert wait_until(lambda: len(load.pids) >= count + 20
                          and time.monotonic() - replaced_at > 1, DEADLINE)
    finally:
        load.stop()
    assert load.failures == [], load.failures[:5]
    assert len(load.pids) >= 40
    new = {pid for when, pid in load.pids if when > replaced_at}
    assert new and not (new & old), (old, new)
    assert len(distinct_pids(server, 2) - old) == 2
    # One by one: each old worker was stopped only after a new one was ready.
    log = server.stderr_text()
    since = log.index("SIGHUP: replacing 2 worker(s) one by one")
    for pid in sorted(old, key=lambda p: log.index(f"worker {p} replaced")):
        stopped = log.index(f"worker {pid} replaced: SIGTERM")
        assert re.search(r"worker \d+ ready", log[since:stopped]), log
        since = stopped


def test_max_requests_recycles_workers(start_workers):
    server = start_workers("--workers=1", "--max-requests=5", "--max-requests-jitter=3")
    served = []
    deadline = time.monotonic() + DEADLINE
    while len(set(served)) < 3 and time.monotonic() < deadline and len(served) < 200:
        served.append(pid_of(server))  # any failure raises
    pids = list(dict.fromkeys(served))
    assert len(pids) >= 3, served
    for pid in pids[:-1]:
        # Each retired worker served its limit (5 plus a jitter of at most 3); it keeps
        # serving until its replacement is ready, then it is stopped gracefully.
        assert served.count(pid) >= 5, served
        assert server.wait_for_log(f"worker {pid} exited with status 0", DEADLINE)
    limits = [int(n) for n in re.findall(r"started \(max_requests (\d+)\)", server.stderr_text())]
    assert limits and all(5 <= n <= 8 for n in limits), limits
    assert server.stderr_text().count("reached max_requests: replacing it") >= 2


def test_sigterm_drains_a_slow_response_then_exits_0(start_workers):
    server = start_workers("--workers=2")
    size = 64 << 20
    client = server.connect()
    client.send(b"GET /bytes?size=%d HTTP/1.1\r\nHost: x\r\n\r\n" % size)
    head = client.read_head()  # the request is in a worker, its response blocked on us
    assert head.status == 200
    os.kill(server.pid, signal.SIGTERM)
    server.terminated = True
    assert server.wait_for_log("SIGTERM: stopping 2 worker(s)", DEADLINE)
    body = memoryview(bytearray(size))
    assert client.read_into(body) == size
    assert bytes(body[:4]) == b"abcd"
    client.close()
    assert server.terminate_and_wait() == 0
    assert "supervisor" in server.stderr_text() and "exiting" in server.stderr_text()


def test_second_signal_kills_the_workers_at_once(serve_exe, tmp_dir):
    server = ServerProcess(serve_exe, ["--workers=2", "--shutdown-timeout=30",
                                       "--connection-limit=1"], "tcp", tmp_dir)
    try:
        pids = distinct_pids(server, 2)
        client = server.connect()
        client.send(b"GET /bytes?size=%d HTTP/1.1\r\nHost: x\r\n\r\n" % (256 << 20))
        assert client.read_head().status == 200  # a response that cannot finish unread
        os.kill(server.pid, signal.SIGTERM)
        assert server.wait_for_log("SIGTERM: stopping", DEADLINE)
        started = time.monotonic()
        os.kill(server.pid, signal.SIGTERM)
        assert server.proc.wait(DEADLINE) == 1
        assert time.monotonic() - started < 10  # not the 30 s grace period
        assert wait_until(lambda: not any(alive(pid) for pid in pids), 5)
        assert "second signal: killing" in server.stderr_text()
        client.close()
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
        server.proc.wait()


def test_sigusr1_to_the_supervisor_reopens_every_workers_access_log(start_workers, tmp_dir):
    """Log rotation with workers: logrotate renames the file and signals the pid it knows,
    the supervisor's, which forwards SIGUSR1 to every worker."""
    path = os.path.join(tmp_dir, "access.log")
    rotated = path + ".1"
    server = start_workers("--workers=2", f"--access-log={path}")
    assert server.wait_for_log("ready", DEADLINE)
    # Two connections held open reach the two workers (see distinct_pids); each request
    # names its connection in its query, and the response names the worker.
    clients = [server.connect(), server.connect()]
    try:
        def round_of(tag):
            pids = []
            for i, client in enumerate(clients):
                response = client.request("GET", f"/pid?{tag}-{i}")
                assert response.status == 200
                pids.append(int(response.body))
            return pids

        def lines_of(name):
            try:
                with open(name, "rb") as f:
                    return f.read().decode().splitlines()
            except FileNotFoundError:
                return []

        pids = round_of("before")
        assert len(set(pids)) == 2, pids
        assert wait_until(lambda: len(lines_of(path)) == 2, DEADLINE), lines_of(path)
        os.rename(path, rotated)
        os.kill(server.pid, signal.SIGUSR1)
        assert server.wait_for_log("SIGUSR1: reopening the access log in 2 worker(s)", DEADLINE)
        # Each worker's loop and writer thread handle the reopen on their own: probe both
        # workers (bounded) until each has a line in the new file; after that, every line
        # of both must go there.
        for attempt in range(50):
            assert round_of(f"probe{attempt}") == pids
            if wait_until(lambda: all(f"probe{attempt}-{i} " in "\n".join(lines_of(path))
                                      for i in range(2)), 0.2):
                break
        else:
            raise AssertionError(f"no probe of both workers in the new file: {lines_of(path)[-4:]}")
        assert round_of("after") == pids
        assert wait_until(lambda: sum("/pid?after-" in line for line in lines_of(path)) == 2,
                          DEADLINE), lines_of(path)
    finally:
        for client in clients:
            client.close()
    old, new = lines_of(rotated), lines_of(path)
    assert sum("/pid?before-" in line for line in old) == 2, old
    assert not any("/pid?before-" in line for line in new), new
    assert not any("/pid?after-" in line for line in old), old
    assert len(old) + len(new) == 2 + 2 * (attempt + 1) + 2  # no line lost
    assert all(alive(pid) for pid in pids)  # the workers reopened; nobody died of SIGUSR1
    assert "was killed" not in server.stderr_text()


def test_sigusr1_without_an_access_log_is_ignored(start_workers):
    server = start_workers("--workers=2")
    pids = distinct_pids(server, 2)
    os.kill(server.pid, signal.SIGUSR1)
    assert server.wait_for_log("SIGUSR1: no access log to reopen, ignored", DEADLINE)
    assert distinct_pids(server, 2) == pids
    assert "was killed" not in server.stderr_text()


@pytest.mark.parametrize("flags", [["--workers=2"], ["--max-requests=100"]])
def test_status_listen_with_workers_is_a_usage_error(serve_exe, tmp_dir, flags):
    proc = subprocess.run([serve_exe, "--listen=127.0.0.1:0", "--status-listen=127.0.0.1:0",
                           *flags], capture_output=True, text=True, timeout=DEADLINE,
                          stdin=subprocess.DEVNULL, cwd=tmp_dir)
    assert proc.returncode == 1, proc.stderr
    assert "Error: status_listen is per process and cannot be used with workers yet" \
        in proc.stderr
    assert "INFO:waitron" not in proc.stderr  # no supervisor started, nothing served


def test_status_listen_with_one_worker_serves(serve_exe, tmp_dir):
    server = ServerProcess(serve_exe, ["--workers=1", "--status-listen=127.0.0.1:0"], "tcp",
                           tmp_dir)
    try:
        assert server.request("GET", "/pid").status == 200
        assert server.wait_for_log("Serving status on http://127.0.0.1:", DEADLINE)
    finally:
        server.stop()
