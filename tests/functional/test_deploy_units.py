"""examples/deploy/waitron.{service,socket} run as systemd would run them.

The test reads the units, takes the service's ExecStart and WorkingDirectory and the
socket's ListenStream, substitutes the paths (the built waitron-serve for the installed
one, a temporary folder holding a `myapp` module for /srv/myapp, a free loopback port for
the unit's) and launches exactly that command line under systemd-socket-activate, which
binds the socket and passes it as LISTEN_FDS, as systemd does. Then: the first connection
starts the service and is served, every worker becomes ready, ExecReload's SIGHUP replaces
them all, and SIGTERM (KillMode=mixed: the main process only) ends it with status 0.
"""
import configparser
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import textwrap
import threading
import time
import urllib.request

import pytest

from conftest import REPO

UNITS = REPO / "examples" / "deploy"
ACTIVATE = shutil.which("systemd-socket-activate") or "/usr/bin/systemd-socket-activate"
DEADLINE = 20.0

APP = textwrap.dedent("""
    import os

    def app(environ, start_response):
        body = str(os.getpid()).encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
""")


def read_unit(name):
    # systemd's format is close enough to INI for these files: no repeated keys.
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    parser.read_string((UNITS / name).read_text())
    return parser


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path="/"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        assert response.status == 200
        return response.read()


@pytest.mark.skipif(not os.access(ACTIVATE, os.X_OK), reason="no systemd-socket-activate")
def test_units_run_under_socket_activation(serve_exe, tmp_dir):
    service = read_unit("waitron.service")
    sock = read_unit("waitron.socket")
    listen = sock["Socket"]["ListenStream"]
    host, unit_port = listen.rsplit(":", 1)
    assert host == "127.0.0.1" and unit_port.isdigit()
    assert service["Service"]["WorkingDirectory"] == "/srv/myapp"  # becomes tmp_dir
    argv = shlex.split(service["Service"]["ExecStart"])
    assert argv[0] == "/usr/local/bin/waitron-serve"
    assert not any(a.startswith(("--listen", "--port", "--host", "--unix-socket")) for a in argv), \
        "the service must take its socket from waitron.socket"
    assert service["Unit"]["Requires"] == "waitron.socket"
    assert service["Service"]["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["Service"]["KillMode"] == "mixed"
    workers = int(next(a for a in argv if a.startswith("--workers=")).split("=")[1])
    grace = int(next(a for a in argv if a.startswith("--shutdown-timeout=")).split("=")[1])
    assert int(service["Service"]["TimeoutStopSec"]) > grace + 10
    module, _, _ = argv[-1].partition(":")

    # The same command line, with this build's paths and a free port.
    with open(os.path.join(tmp_dir, module + ".py"), "w") as f:
        f.write(APP)
    port = free_port()
    # systemd-socket-activate passes on only the variables it is told to: the sanitizer
    # build's, with leak reports off (the embedded CPython frees little at exit).
    env = []
    for name in ("LD_PRELOAD", "UBSAN_OPTIONS"):
        if os.environ.get(name):
            env += ["-E", f"{name}={os.environ[name]}"]
    asan = os.environ.get("ASAN_OPTIONS")
    env += ["-E", f"ASAN_OPTIONS={asan + ':' if asan else ''}detect_leaks=0"]
    command = [ACTIVATE, "-l", f"{host}:{port}", *env, serve_exe] + argv[1:]
    proc = subprocess.Popen(command, cwd=tmp_dir, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ))
    lines = []
    cond = threading.Condition()

    def drain():
        for line in proc.stderr:
            with cond:
                lines.append(line.rstrip("\n"))
                cond.notify_all()
        with cond:
            lines.append("<EOF>")
            cond.notify_all()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()

    def wait_for(pattern, count=1):
        """Waits until `count` log lines match `pattern` (bounded)."""
        def matched():
            return sum(1 for line in lines if re.search(pattern, line)) >= count
        with cond:
            return cond.wait_for(lambda: matched() or "<EOF>" in lines, DEADLINE) and matched()

    try:
        assert wait_for(r"Listening on"), lines
        # The first connection starts the service; it waits in the backlog meanwhile.
        first = int(get(port))
        assert wait_for(rf"supervisor {proc.pid}: starting {workers} worker"), lines
        assert wait_for(r"worker \d+ ready", workers)
        old = {int(m[1]) for line in lines for m in [re.search(r"worker (\d+) ready", line)] if m}
        assert first in old and len(old) == workers
        # (Which worker wins each accept is the kernel's choice: see distinct_pids in
        # test_workers.py for a test that reaches every worker.)
        assert {int(get(port)) for _ in range(20)} <= old

        proc.send_signal(signal.SIGHUP)  # ExecReload
        for pid in old:
            assert wait_for(rf"worker {pid} exited with status 0"), "\n".join(lines)
        assert not {int(get(port)) for _ in range(20)} & old

        proc.send_signal(signal.SIGTERM)  # KillMode=mixed: the main process only
        assert proc.wait(DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(5)
        proc.stderr.close()
