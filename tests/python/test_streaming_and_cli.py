"""Two acceptance checks of the Python hosting issue, end to end over real sockets:
- stream_request_body: the application reads the first part of a body before the client
  has sent the rest (wsgi.input waits with the GIL released);
- a Flask application served by `python3 -m waitron MODULE:OBJECT` and by the C++
  `waitron-serve MODULE:OBJECT` (which runs the same runner in an embedded CPython)."""
import os
import pathlib
import select
import signal
import socket
import subprocess
import sys
import threading
import urllib.request

import pytest

from waitron import _waitron

FIXTURES = pathlib.Path(__file__).parent / "fixtureapps"


def test_streaming_upload_is_read_before_the_client_sent_it_all():
    def app(environ, start_response):
        body = environ["wsgi.input"]
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"first=" + body.readline())  # answered while the rest is not sent yet
        write(b"rest=" + body.read())
        return []

    server = _waitron.Server(app, [("listen", "127.0.0.1:0"), ("stream_request_body", True)])
    host, port, _ = server.addresses()[0]
    thread = threading.Thread(target=server.run, kwargs={"handle_signals": False})
    thread.start()
    try:
        with socket.create_connection((host, int(port)), timeout=10) as c:
            c.sendall(b"POST / HTTP/1.1\r\nContent-Length: 15\r\n\r\nfirst\n")
            got = b""
            while b"first=first\n" not in got:
                data = c.recv(4096)
                assert data, "the server closed before answering the first part"
                got += data
            c.sendall(b"the rest!")
            while not got.endswith(b"0\r\n\r\n"):
                data = c.recv(4096)
                assert data
                got += data
        assert b"rest=the rest!" in got
    finally:
        server.close()
        thread.join(10)


def serve_flask(command):
    proc = subprocess.Popen(command + ["--listen=127.0.0.1:0", "flaskapp:app"],
                            cwd=FIXTURES, stderr=subprocess.PIPE, env=dict(os.environ))
    banner = b""
    while b"Serving on http://" not in banner:
        ready, _, _ = select.select([proc.stderr], [], [], 10)
        if not ready:
            proc.kill()
            pytest.fail("no banner within 10 s")
        line = proc.stderr.readline()
        if not line:
            pytest.fail("the server exited: " + banner.decode(errors="replace"))
        banner += line
    return proc, banner.split(b"Serving on ")[1].split()[0].decode()


COMMANDS = [pytest.param([sys.executable, "-m", "waitron"], id="python-m-waitron")]
if os.environ.get("WAITRON_SERVE_EXE"):
    COMMANDS.append(pytest.param([os.environ["WAITRON_SERVE_EXE"]], id="cxx-waitron-serve"))


@pytest.mark.parametrize("command", COMMANDS)
def test_flask_app_served_from_the_command_line(command):
    proc, url = serve_flask(command)
    try:
        assert urllib.request.urlopen(url + "/", timeout=10).read() == b"hello from flask"
        req = urllib.request.Request(url + "/echo", data=b"posted")
        assert urllib.request.urlopen(req, timeout=10).read() == b"posted"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
