"""Application faults side by side with a healthy path, for test_wsgi_fault_isolation.py:
one server (threads=1) serves both, so a fault that leaked its thread, its connection or
the server would show on the next healthy request.

  /ok                  200 "ok"
  /slow?ms=N           sleeps N ms, then 200 "slept" (a request in flight during a fault)
  /raise               raises before start_response
  /raise_late          raises in the iterable after the head went out
  /non_iterable        returns 42 after start_response
  /none                returns None after start_response
  /yield_str           yields a str (not bytes)
  /start_twice         start_response twice without exc_info
  /short_body          Content-Length 100, 10 bytes sent
  /long_body           Content-Length 5, 10 bytes returned
"""
import time


class FaultError(Exception):
    pass


TEXT = [("Content-Type", "text/plain")]


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/ok":
        start_response("200 OK", TEXT + [("Content-Length", "2")])
        return [b"ok"]
    if path == "/slow":
        ms = int(environ.get("QUERY_STRING", "ms=0").partition("=")[2] or 0)
        time.sleep(ms / 1000)
        start_response("200 OK", TEXT + [("Content-Length", "5")])
        return [b"slept"]
    if path == "/raise":
        raise FaultError("before start_response")
    if path == "/raise_late":
        start_response("200 OK", TEXT)

        def pieces():
            yield b"first"
            raise FaultError("in the iterable")
        return pieces()
    if path == "/non_iterable":
        start_response("200 OK", TEXT)
        return 42
    if path == "/none":
        start_response("200 OK", TEXT)
        return None
    if path == "/yield_str":
        start_response("200 OK", TEXT)

        def strings():
            yield "not bytes"
        return strings()
    if path == "/start_twice":
        start_response("200 OK", TEXT)
        start_response("200 OK", TEXT + [("Content-Length", "5")])
        return [b"twice"]
    if path == "/short_body":
        start_response("200 OK", TEXT + [("Content-Length", "100")])
        return [b"0123456789"]
    if path == "/long_body":
        start_response("200 OK", TEXT + [("Content-Length", "5")])
        return [b"0123456789"]
    start_response("404 Not Found", TEXT + [("Content-Length", "0")])
    return []
