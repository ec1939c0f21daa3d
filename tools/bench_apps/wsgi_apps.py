"""Plain WSGI callables for tools/bench, one per workload (served as wsgi_apps:NAME).

    hello  A: "Hello, World!" (13 bytes)
    big    C: a 1 MiB bytes response (one bytes object, built once at import)
    echo   D: reads the whole request body and answers with its length
    file   E: the file named by $WAITRON_BENCH_FILE through environ["wsgi.file_wrapper"]

Every response carries a Content-Length, so each server may keep the connection alive.
"""

import os

HELLO = b"Hello, World!"
BIG = b"x" * (1024 * 1024)
FILE = os.environ.get("WAITRON_BENCH_FILE", "")


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
    return [HELLO]


def big(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(BIG)))])
    return [BIG]


def echo(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ["wsgi.input"]
    received = 0
    while received < length:
        chunk = stream.read(min(65536, length - received))
        if not chunk:
            break
        received += len(chunk)
    body = str(received).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


def file(environ, start_response):
    f = open(FILE, "rb")
    size = os.fstat(f.fileno()).st_size
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(size))])
    return environ["wsgi.file_wrapper"](f, 65536)
