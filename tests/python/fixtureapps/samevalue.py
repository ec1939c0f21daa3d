"""Says whether a header's environ value is the very str object the last request had:
``app`` keeps the last value of HTTP_X_SAME_VALUE (so that it stays alive) and answers JSON
with the value and ``same_object`` (an ``is`` comparison with the kept one)."""
import json

_kept = {}


def app(environ, start_response):
    value = environ.get("HTTP_X_SAME_VALUE")
    same = "value" in _kept and _kept["value"] is value
    _kept["value"] = value
    body = json.dumps({"value": value, "same_object": same}).encode("ascii")
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


class _Stderr:
    """Stands in for sys.stderr between two requests of errors_follow."""

    def __init__(self, real):
        self.real = real

    def write(self, text):
        return self.real.write(text)

    def flush(self):
        self.real.flush()


def errors_follow(environ, start_response):
    """First request: answers whether wsgi.errors is sys.stderr, then replaces sys.stderr.
    Second request: answers whether wsgi.errors is the replacement, then puts the real one
    back."""
    import sys
    if isinstance(sys.stderr, _Stderr):
        answer = environ["wsgi.errors"] is sys.stderr
        sys.stderr = sys.stderr.real
    else:
        answer = environ["wsgi.errors"] is sys.stderr
        sys.stderr = _Stderr(sys.stderr)
    body = json.dumps({"is_current_stderr": answer}).encode("ascii")
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def mutates(environ, start_response):
    """Answers what it finds of wsgi.run_once and x.added, then changes both: the next
    request must not see the changes (each environ is a dict of its own)."""
    body = json.dumps({"run_once": environ["wsgi.run_once"],
                       "added": "x.added" in environ,
                       "version": list(environ["wsgi.version"])}).encode("ascii")
    environ["wsgi.run_once"] = True
    environ["x.added"] = 1
    del environ["wsgi.version"]
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
