"""`python3 -m waitron` with no application serves the built-in native demo app, as the
C++ waitron-serve does (waitress would print "Specify an application")."""
import os
import select
import signal
import subprocess
import sys
import urllib.request

import pytest


def test_no_application_serves_the_demo_app(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "waitron", "--listen=127.0.0.1:0", "--threads=2"],
        stderr=subprocess.PIPE, cwd=tmp_path, env=dict(os.environ))
    try:
        banner = b""
        deadline_lines = 50
        while b"Serving on http://" not in banner and deadline_lines > 0:
            ready, _, _ = select.select([proc.stderr], [], [], 10)
            assert ready, "no banner within 10 s"
            banner += proc.stderr.readline()
            deadline_lines -= 1
        url = banner.split(b"Serving on ")[1].split()[0].decode()
        with urllib.request.urlopen(url + "/bytes?size=7", timeout=10) as r:
            assert r.status == 200
            assert r.read() == b"abcdefg"
        with urllib.request.urlopen(
                urllib.request.Request(url + "/echo", data=b"ping"), timeout=10) as r:
            assert r.read() == b"ping"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
