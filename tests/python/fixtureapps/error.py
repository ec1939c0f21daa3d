"""Application errors at each stage: /before_start_response, /after_start_response,
/after_write_cb (a str written with Content-Length 0), /in_generator (a str yielded,
then an exception), /traceback (non-ASCII exception text), /logged. The request body is
read first."""


class FixtureError(Exception):
    pass


def app(environ, start_response):
    length = environ.get("CONTENT_LENGTH")
    environ["wsgi.input"].read(int(length) if length else -1)
    path = environ["PATH_INFO"]
    if path == "/before_start_response":
        raise FixtureError("before start_response")
    if path == "/traceback":
        raise FixtureError("non-ASCII text: \u00e9t\u00e9 \u2603 \u20ac")
    write = start_response("200 OK", [("Content-Type", "text/plain"),
                                      ("Content-Length", "0")])
    if path == "/after_write_cb":
        write("abc")  # a str: invalid, but the head goes out first
    if path == "/in_generator":
        def pieces():
            yield "abc"
            raise FixtureError("in the generator")
        return pieces()
    raise FixtureError(f"after start_response ({path})")
