"""Large responses: GET /write/N sends N bytes of PATTERN with write() in 64 KiB pieces,
GET /iter/N yields them; neither declares a length. GET /write_record/ID/N does the same
as /write/N and records what became of it: "done", or the name of the exception write()
raised (a client that went away); GET /record/ID answers {"record": ... or null}."""
import json
import threading

PIECE = 65536
# 1021 is a prime: a lost or repeated piece shifts the pattern.
PATTERN = (bytes(range(256)) * 4)[:1021]
_lock = threading.Lock()
RECORDS: dict = {}


def expected(n: int) -> bytes:
    """The first n bytes of the pattern repeated."""
    return (PATTERN * (n // len(PATTERN) + 1))[:n]


def pieces(n: int):
    data = expected(n)
    for i in range(0, n, PIECE):
        yield data[i:i + PIECE]


def app(environ, start_response):
    parts = environ["PATH_INFO"].split("/")
    if parts[1] == "record":
        with _lock:
            body = json.dumps({"record": RECORDS.get(parts[2])}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    headers = [("Content-Type", "application/octet-stream")]
    if parts[1] == "iter":
        start_response("200 OK", headers)
        return pieces(int(parts[2]))
    write = start_response("200 OK", headers)
    if parts[1] == "write":
        for piece in pieces(int(parts[2])):
            write(piece)
        return []
    ident, n = parts[2], int(parts[3])  # write_record
    try:
        for piece in pieces(n):
            write(piece)
        outcome = "done"
    except Exception as exc:
        outcome = type(exc).__name__
    with _lock:
        RECORDS[ident] = outcome
    return []
