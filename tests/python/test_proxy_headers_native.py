"""The native apps' proxy headers (C++, src/pipeline/proxy_headers) against the WSGI
middleware (waitron.proxy_headers): the same outcome for every input of the fuzz corpus.

dump_proxy_cases (built with this suite) prints, for each input of
tests/fuzz/corpus/proxy_headers, the settings, the environ, and what the C++ rules made of
them; this test runs proxy_headers_middleware on the same environ with the same settings and
requires the same status, 400 body, environ and log lines. The corpus holds the unit cases'
inputs and what libFuzzer found on top of them, so the two implementations are compared on
thousands of odd headers rather than a few hand-picked ones.
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

from waitron.proxy_headers import proxy_headers_middleware

CORPUS = Path(__file__).resolve().parents[1] / "fuzz" / "corpus" / "proxy_headers"


class RecordingLogger:
    def __init__(self):
        self.messages = []

    def warning(self, message, *args):
        self.messages.append(message % args)


def python_outcome(case):
    seen = {}
    logger = RecordingLogger()

    def app(environ, start_response):
        seen.update(environ)
        start_response("200 OK", [])
        return [b""]

    middleware = proxy_headers_middleware(
        app,
        trusted_proxy=case["trusted_proxy"],
        trusted_proxy_count=case["trusted_proxy_count"],
        trusted_proxy_headers=set(case["trusted_proxy_headers"]),
        clear_untrusted=case["clear_untrusted"],
        log_untrusted=case["log_untrusted"],
        logger=logger,
    )
    status = []
    body = b"".join(middleware(dict(case["environ"]),
                               lambda s, h, exc_info=None: status.append(s)))
    return {
        "status": status[0],
        "body": body.decode("utf-8") if status[0] != "200 OK" else None,
        "environ_after": seen or None,
        "warnings": logger.messages,
    }


def cases():
    exe = os.environ.get("WAITRON_PROXY_DUMP")
    if not exe:
        pytest.skip("WAITRON_PROXY_DUMP is not set (meson test sets it)")
    out = subprocess.run([exe, str(CORPUS)], check=True, capture_output=True, timeout=120)
    return [json.loads(line) for line in out.stdout.decode("ascii").splitlines()]


def test_native_rules_match_the_python_middleware():
    compared = 0
    mismatches = []
    for case in cases():
        expected = python_outcome(case)
        actual = {key: case[key] for key in expected}
        if actual != expected:
            mismatches.append((case["file"], case["environ"], actual, expected))
        compared += 1
    assert compared >= 30, f"only {compared} corpus inputs"
    assert not mismatches, "\n\n".join(
        f"{name}: input {environ!r}\n  C++:    {actual!r}\n  Python: {expected!r}"
        for name, environ, actual, expected in mismatches[:5])
