"""A Content-Length that is off by one: /short_body promises one byte more than the app
sends, /long_body one byte less."""

BODY = b"0123456789"


def app(environ, start_response):
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    if environ["PATH_INFO"] == "/short_body":
        length = len(BODY) + 1
    else:  # /long_body
        length = len(BODY) - 1
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(length))])
    return [BODY]
