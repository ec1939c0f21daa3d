"""The body through start_response's write callable: /short_body writes one byte less
than its Content-Length, /long_body one byte more, /equal_body exactly it,
/no_content_length declares none."""

LENGTH = 10


def app(environ, start_response):
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    path = environ["PATH_INFO"]
    headers = [("Content-Type", "text/plain")]
    if path != "/no_content_length":
        headers.append(("Content-Length", str(LENGTH)))
    write = start_response("200 OK", headers)
    if path == "/short_body":
        write(b"x" * (LENGTH - 1))
    elif path == "/long_body":
        write(b"x" * (LENGTH + 1))
    else:
        write(b"x" * LENGTH)
    return []
