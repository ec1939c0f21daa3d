"""A WSGI app for the functional suite: the environ's string values as sorted "KEY=value"
lines, the shape of the native fixture's /environ, so one set of assertions reads both."""


def app(environ, start_response):
    lines = [f"{key}={value}\n" for key, value in sorted(environ.items()) if isinstance(value, str)]
    body = "".join(lines).encode("latin-1")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
