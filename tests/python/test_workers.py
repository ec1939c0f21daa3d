"""Worker processes of the Python runner: ``python3 -m waitron`` and waitron-serve's
embedded runner (MODULE:OBJECT), both through _waitron.supervise (src/runner/supervisor.hpp).

Each test runs the real command over loopback TCP with a fixture WSGI app (written to a
temporary folder, imported by each worker after the fork) that answers with its process
id; counts and deadlines are bounded. The C++ runner's native workers are
tests/functional/test_workers.py.
"""
import os
import http.client
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request

import pytest

PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
DEADLINE = 20.0
ACTIVATE = shutil.which("systemd-socket-activate") or "/usr/bin/systemd-socket-activate"

APP = textwrap.dedent("""
    import os, time

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            open(environ["QUERY_STRING"], "w").close()  # the request has started
            time.sleep(1.5)
        body = str(os.getpid()).encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    # Nothing of the application exists in the supervisor: it is imported after the fork.
    os.write(2, b"imported workers_app in %d\\n" % os.getpid())  # one write: one line
""")

COMMANDS = [pytest.param([PYTHON, "-m", "waitron"], id="python-m-waitron")]
if os.environ.get("WAITRON_SERVE_EXE"):
    COMMANDS.append(pytest.param([os.environ["WAITRON_SERVE_EXE"]], id="cxx-waitron-serve"))


@pytest.fixture(params=COMMANDS)
def command(request):
    return request.param


class Supervised:
    """A runner process with workers; its stderr read into lines by a thread."""

    def __init__(self, argv, cwd):
        self.argv = argv
        self.proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     env=dict(os.environ))
        self.lines = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()
        self.port = None

    def _drain(self):
        for raw in self.proc.stderr:
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.lines.append("<EOF>")
            self.cond.notify_all()

    def text(self):
        with self.cond:
            return "\n".join(self.lines)

    def wait_for(self, pattern, count=1, timeout=DEADLINE):
        """Waits until `count` log lines match `pattern`; returns the matches."""
        def found():
            return [m for line in self.lines for m in [re.search(pattern, line)] if m]
        with self.cond:
            self.cond.wait_for(lambda: len(found()) >= count or "<EOF>" in self.lines, timeout)
            matches = found()
        assert len(matches) >= count, f"{pattern!r} x{count} not in the log:\n{self.text()}"
        return matches

    def serving(self, workers):
        self.wait_for(r"worker \d+ ready", workers)
        self.port = int(self.wait_for(r"Serving on http://127\.0\.0\.1:(\d+)")[0][1])
        return self

    def ready_pids(self):
        return [int(m[1]) for m in re.finditer(r"worker (\d+) ready", self.text())]

    def get(self, path="/", timeout=10):
        url = f"http://127.0.0.1:{self.port}{path}"
        with urllib.request.urlopen(url, timeout=timeout) as response:
            assert response.status == 200
            return int(response.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(DEADLINE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"no exit within {DEADLINE} s of SIGTERM:\n{self.text()}")
        self.thread.join(5)
        return status


@pytest.fixture
def start(tmp_path, command):
    """start(*flags) -> a Supervised runner serving workers_app:app on 127.0.0.1:0, each
    worker taking one connection at a time (see distinct_pids); at teardown it must exit 0
    after SIGTERM, with no traceback."""
    (tmp_path / "workers_app.py").write_text(APP)
    running = []

    def run(*flags, workers=2):
        argv = command + ["--listen=127.0.0.1:0", "--connection-limit=1", *flags]
        proc = Supervised(argv + ["workers_app:app"], tmp_path)
        running.append(proc)
        return proc.serving(workers)

    yield run
    for proc in running:
        status = proc.stop()
        assert status == 0, proc.text()
        assert "Traceback" not in proc.text(), proc.text()


def distinct_pids(server, count):
    """The pids of `count` distinct workers. The runner has --connection-limit=1: a worker
    holding one connection stops accepting and the shared socket gives the next connection
    to another worker, so `count` connections held open at once reach `count` workers."""
    connections = []
    try:
        pids = set()
        for _ in range(count):
            connections.append(http.client.HTTPConnection("127.0.0.1", server.port, timeout=10))
            connections[-1].request("GET", "/")
            response = connections[-1].getresponse()
            assert response.status == 200
            pids.add(int(response.read()))
        return pids
    finally:
        for connection in connections:
            connection.close()


def parent_of(pid):
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def test_workers_import_the_app_and_serve(start):
    server = start("--workers=3", workers=3)
    pids = distinct_pids(server, 3)
    assert len(pids) == 3, server.text()
    assert all(parent_of(pid) == server.proc.pid for pid in pids)
    assert sorted(pids) == sorted(server.ready_pids())
    imported = {int(m[1]) for m in re.finditer(r"imported workers_app in (\d+)", server.text())}
    assert imported == pids  # in each worker, never in the supervisor


def test_killed_worker_is_replaced(start):
    server = start("--workers=2")
    pids = distinct_pids(server, 2)
    victim = min(pids)
    os.kill(victim, signal.SIGKILL)
    server.wait_for(rf"worker {victim} was killed by signal 9; starting another")
    server.wait_for(r"worker \d+ ready", 3)
    for _ in range(10):
        server.get()
    assert len(distinct_pids(server, 2) - {victim}) == 2


def test_sighup_under_load_changes_every_worker_without_a_failure(start):
    server = start("--workers=2")
    old = distinct_pids(server, 2)
    answered, failures = [], []
    stopping = threading.Event()

    def load():
        deadline = time.monotonic() + 60
        while not stopping.is_set() and time.monotonic() < deadline:
            try:
                answered.append((time.monotonic(), server.get()))  # a fresh connection each
            except Exception as e:  # noqa: BLE001 - every failure counts
                failures.append(repr(e))

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        while (len(answered) < 20 or time.monotonic() - started < 1) and \
                time.monotonic() - started < DEADLINE:
            time.sleep(0.05)
        server.proc.send_signal(signal.SIGHUP)
        for pid in old:
            server.wait_for(rf"worker {pid} exited with status 0")
        replaced_at = time.monotonic()
        count = len(answered)
        while (len(answered) < count + 20 or time.monotonic() - replaced_at < 1) and \
                time.monotonic() - replaced_at < DEADLINE:
            time.sleep(0.05)
    finally:
        stopping.set()
        thread.join(20)
    assert failures == [], failures[:5]
    new = {pid for when, pid in answered if when > replaced_at}
    assert new and not new & old
    assert not distinct_pids(server, 2) & old


def test_max_requests_recycles_workers(start):
    server = start("--workers=1", "--max-requests=4", workers=1)
    served = []
    deadline = time.monotonic() + DEADLINE
    while len(set(served)) < 3 and time.monotonic() < deadline and len(served) < 200:
        served.append(server.get())
    pids = list(dict.fromkeys(served))
    assert len(pids) >= 3, served
    for pid in pids[:-1]:
        assert served.count(pid) >= 4, served
        server.wait_for(rf"worker {pid} exited with status 0")


def test_sigterm_drains_a_slow_request_then_exits_0(start, tmp_path):
    server = start("--workers=2")
    marker = tmp_path / "started"
    result = {}

    def slow():
        result["pid"] = server.get(f"/slow?{marker}")

    thread = threading.Thread(target=slow)
    thread.start()
    deadline = time.monotonic() + DEADLINE
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.exists()
    server.proc.send_signal(signal.SIGTERM)
    thread.join(DEADLINE)
    assert result.get("pid") in server.ready_pids()
    assert server.proc.wait(DEADLINE) == 0  # (the teardown's SIGTERM finds it gone)
    server.wait_for("SIGTERM: stopping 2 worker")
    server.wait_for(r"supervisor \d+: exiting")


def test_an_app_that_does_not_import_stops_the_supervisor(command, tmp_path):
    proc = Supervised(command + ["--listen=127.0.0.1:0", "--workers=2", "missing_module:app"],
                      tmp_path)
    assert proc.proc.wait(DEADLINE) == 1
    proc.thread.join(5)
    assert "Cannot import WSGI application 'missing_module:app'" in proc.text()
    proc.wait_for(r"worker \d+ exited with status 1 before it was ready: failed to boot")


@pytest.mark.skipif(not os.access(ACTIVATE, os.X_OK), reason="no systemd-socket-activate")
@pytest.mark.parametrize("workers", [1, 2])
def test_socket_activation_listen_fds(command, tmp_path, workers):
    """LISTEN_FDS/LISTEN_PID in the Python runner: no address option, systemd's socket,
    served by one process or by workers that inherit it from the supervisor."""
    (tmp_path / "workers_app.py").write_text(APP)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # systemd-socket-activate passes on only the variables it is told to.
    env = [arg for name in ("PYTHONPATH", "LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")
           if os.environ.get(name) for arg in ("-E", f"{name}={os.environ[name]}")]
    proc = Supervised([ACTIVATE, "-l", f"127.0.0.1:{port}", *env] + command +
                      [f"--workers={workers}", "--connection-limit=1", "workers_app:app"],
                      tmp_path)
    try:
        proc.wait_for("Listening on")
        proc.port = port
        first = proc.get()  # starts the service, then waits in the socket's backlog
        proc.wait_for(rf"Serving on http://127\.0\.0\.1:{port}", workers)
        if workers == 1:
            assert first == proc.proc.pid  # systemd-socket-activate exec'd the runner
            assert "supervisor" not in proc.text()
        else:
            proc.wait_for(rf"supervisor {proc.proc.pid}: starting 2 worker")
            proc.wait_for(r"worker \d+ ready", 2)
            assert first in proc.ready_pids()
            assert len(distinct_pids(proc, 2)) == 2
    finally:
        assert proc.stop() == 0, proc.text()


def _lines_of(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode().splitlines()
    except FileNotFoundError:
        return []


def _wait(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_sigusr1_to_the_supervisor_reopens_every_workers_access_log(start, tmp_path):
    """Log rotation: rename the file, SIGUSR1 the supervisor (the pid logrotate knows);
    every worker reopens the file at its path."""
    path = tmp_path / "access.log"
    rotated = tmp_path / "access.log.1"
    server = start("--workers=2", f"--access-log={path}")
    # Two connections held open reach the two workers (see distinct_pids).
    connections = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
                   for _ in range(2)]
    try:
        def round_of(tag):
            pids = []
            for i, connection in enumerate(connections):
                connection.request("GET", f"/?{tag}-{i}")
                response = connection.getresponse()
                assert response.status == 200
                pids.append(int(response.read()))
            return pids

        pids = round_of("before")
        assert len(set(pids)) == 2, pids
        assert _wait(lambda: len(_lines_of(path)) == 2, DEADLINE), _lines_of(path)
        os.rename(path, rotated)
        server.proc.send_signal(signal.SIGUSR1)
        server.wait_for(r"SIGUSR1: reopening the access log in 2 worker\(s\)")
        # Each worker reopens on its own loop and writer thread: probe both (bounded) until
        # each has a line in the new file; every later line of both must go there.
        for attempt in range(50):
            assert round_of(f"probe{attempt}") == pids
            if _wait(lambda: all(f"probe{attempt}-{i} " in "\n".join(_lines_of(path))
                                 for i in range(2)), 0.2):
                break
        else:
            raise AssertionError(f"no probe of both workers in the new file: "
                                 f"{_lines_of(path)[-4:]}\n{server.text()}")
        assert round_of("after") == pids
        assert _wait(lambda: sum("/?after-" in line for line in _lines_of(path)) == 2,
                     DEADLINE), _lines_of(path)
    finally:
        for connection in connections:
            connection.close()
    old, new = _lines_of(rotated), _lines_of(path)
    assert sum("/?before-" in line for line in old) == 2, old
    assert not any("/?before-" in line for line in new), new
    assert not any("/?after-" in line for line in old), old
    assert len(old) + len(new) == 2 + 2 * (attempt + 1) + 2  # no line lost
    assert "was killed" not in server.text()


@pytest.mark.parametrize("flags", [["--workers=2"], ["--max-requests=100"]])
def test_status_listen_with_workers_is_a_usage_error(command, tmp_path, flags):
    (tmp_path / "workers_app.py").write_text(APP)
    proc = subprocess.run(command + ["--listen=127.0.0.1:0", "--status-listen=127.0.0.1:0",
                                     *flags, "workers_app:app"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=DEADLINE,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 1, proc.stderr
    assert "Error: status_listen is per process and cannot be used with workers yet" \
        in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "imported workers_app" not in proc.stderr  # refused before any fork
    assert "INFO:waitron" not in proc.stderr
