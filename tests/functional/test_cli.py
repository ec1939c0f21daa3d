"""The waitron-serve command itself: help, usage errors, the demo App, JSON config files."""
import contextlib
import json
import os
import subprocess
import threading
import time

from conftest import ServerProcess

RUN_TIMEOUT = 10


def run(argv):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT)


@contextlib.contextmanager
def serving(exe, flags, workdir):
    """A server listening where its flags say (no transport added), checked at the end."""
    server = ServerProcess(exe, flags, None, workdir)
    try:
        yield server
    finally:
        server.stop()


def write_config(tmp_dir, content) -> str:
    path = os.path.join(tmp_dir, "config.json")
    with open(path, "w") as f:
        json.dump(content, f)
    return path


def test_help_goes_to_stdout(serve_exe):
    result = run([serve_exe, "--help"])
    assert result.returncode == 0
    assert result.stdout.startswith("Usage:")
    assert result.stdout.startswith("Usage:\n\n    waitron-serve [OPTS] ")
    assert "--listen" in result.stdout and "--threads" in result.stdout
    assert result.stderr == ""


def test_unknown_option_is_a_usage_error(serve_exe):
    result = run([serve_exe, "--bad-opt"])
    assert result.returncode == 1
    assert result.stderr.startswith("Error: option --bad-opt not recognized\n")
    assert "Usage:" in result.stderr  # followed by the help, as waitress-serve
    assert result.stdout == ""


def test_demo_app(start_server, serve_exe):
    server = start_server(exe=serve_exe)
    with server.connect() as client:
        page = client.request("GET", "/")
        assert page.status == 200
        assert page.header("Content-Type").startswith("text/html")
        assert b"waitron is serving" in page.body

        echo = client.request("POST", "/echo", b"demo body", headers=[("Content-Type", "text/x-demo")])
        assert echo.status == 200
        assert echo.body == b"demo body"
        assert echo.header("Content-Type") == "text/x-demo"

        data = client.request("GET", "/bytes?size=10")
        assert data.status == 200
        assert data.body == b"abcdefghij"
        assert data.header("Content-Length") == "10"

        assert client.request("GET", "/bytes?size=ten").status == 400
        assert client.request("GET", "/missing").status == 404


def test_config_file_is_honoured(serve_exe, fixture_exe, tmp_dir):
    path = write_config(tmp_dir, {"listen": "127.0.0.1:0", "threads": 2})
    with serving(serve_exe, [f"--config={path}"], tmp_dir) as server:
        assert server.address[0] == "127.0.0.1"
        assert server.request("GET", "/bytes?size=3").body == b"abc"

    # threads=2: of three concurrent 600 ms requests, the third waits for a free thread.
    with serving(fixture_exe, [f"--config={path}"], tmp_dir) as server:
        clients = [server.connect() for _ in range(3)]
        finished = []
        started = time.monotonic()

        def wait(client):
            assert client.read_response().body == b"slept"
            finished.append(time.monotonic() - started)

        for client in clients:
            client.send(b"GET /sleep?ms=600 HTTP/1.1\r\nHost: x\r\n\r\n")
        threads = [threading.Thread(target=wait, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        for client in clients:
            client.close()
        assert len(finished) == 3
        finished.sort()
        assert finished[1] < 1.1, finished
        assert finished[2] >= 1.2, f"three requests ran at once with threads=2: {finished}"


def test_unknown_config_key_is_refused(serve_exe, tmp_dir):
    path = write_config(tmp_dir, {"listen": "127.0.0.1:0", "bogus_key": 1})
    result = run([serve_exe, f"--config={path}"])
    assert result.returncode == 1
    assert "bogus_key" in result.stderr
    assert "Serving on" not in result.stderr
