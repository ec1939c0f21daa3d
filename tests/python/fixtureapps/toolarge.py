"""A small fixed answer, whatever the request (served with small size limits)."""

BODY = b"not too large"


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(BODY)))])
    return [BODY]
