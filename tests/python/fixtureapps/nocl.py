"""No Content-Length; the body (the request's) comes back as: a generator of 10-byte
pieces (/), a 1-item list (/list), a 2-item list (/list_lentwo), an empty list (/empty)."""


def app(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain")])
    path = environ["PATH_INFO"]
    if path == "/list":
        return [body]
    if path == "/list_lentwo":
        return [body[:1], body[1:]]
    if path == "/empty":
        return []

    def pieces():
        for i in range(0, len(body), 10):
            yield body[i:i + 10]
    return pieces()
