"""environ["wsgi.input"]: the io methods give what io.BytesIO gives over the same body, and
waitron's extensions (find, read_nonblock, readable_amount, at_eof, the read-only
zero-copy buffer) do what they say; for a small body kept in memory and for a 100 KiB body
past inbuf_overflow (1024), sent with Content-Length or chunked; over TCP and a Unix
socket."""
import io
import json

import pytest

from conftest import chunked, request_bytes
from fixtureapps import inputapp

SMALL = (b"first line\nsecond needle line\n\r\n\nfourth line is a bit longer than the "
         b"others\nno newline at the end")


def _large() -> bytes:
    lines = []
    size = 0
    n = 0
    while size < 100 * 1024:
        line = b"%d:" % n + b"x" * (n % 97) + (b" needle" if n == 1500 else b"") + b"\n"
        lines.append(line)
        size += len(line)
        n += 1
    return b"".join(lines) + b"tail without newline"


LARGE = _large()
BODIES = {"small": SMALL, "large": LARGE}


@pytest.fixture(params=["small", "large"])
def body(request):
    return BODIES[request.param]


@pytest.fixture
def inputs(shared_server, body):
    """Bodies past 1 KiB go to a temporary file."""
    return shared_server("inputapp:app", inbuf_overflow=1024)


def run(server, script, body, framing="length"):
    with server.connect() as c:
        if framing == "length":
            c.send(request_bytes("POST", f"/{script}", body=body))
        else:
            c.send(request_bytes("POST", f"/{script}", [("Transfer-Encoding", "chunked")])
                   + chunked(*[body[i:i + 3000] for i in range(0, len(body), 3000)]))
        resp = c.read_response()
    assert resp.status == 200, resp.body
    return json.loads(resp.body)


def expected(script, body):
    return json.loads(json.dumps(inputapp.run_script(script, io.BytesIO(body))))


def b(data: bytes):
    return ["bytes", data.decode("latin-1")]


def mismatches(server, body, scripts, framing="length") -> dict:
    """{script: (what the server's wsgi.input gave, what io.BytesIO gives)} for each
    script whose results differ."""
    out = {}
    for script in scripts:
        got, want = run(server, script, body, framing), expected(script, body)
        if got != want:
            out[script] = (got, want)
    return out


def test_io_methods_match_bytesio(inputs, body):
    assert mismatches(inputs, body, sorted(inputapp.STANDARD)) == {}


def test_io_methods_on_a_chunked_body(inputs, body):
    assert mismatches(inputs, body, sorted(inputapp.STANDARD), framing="chunked") == {}


def test_io_methods_on_no_body(shared_server):
    server = shared_server("inputapp:app")
    assert mismatches(server, b"", sorted(inputapp.STANDARD)) == {}


@pytest.mark.waitron_only
def test_find(inputs, body):
    first = body.find(b"\n")
    assert run(inputs, "find", body) == [
        first, body.find(b"needle"), -1, body.find(b"n"), body.find(b"\n", first + 1),
        body.find(b"needle", 0, 5), 0, b(body[:3])]


@pytest.mark.waitron_only
def test_nonblocking_reads_of_a_complete_body(inputs, body):
    assert run(inputs, "nonblock", body) == [
        len(body), False, b(body[:4]), len(body) - 4, False, b(body[4:]), 0, True,
        b(b""), b(b""), b(b"")]


@pytest.mark.waitron_only
def test_nonblocking_reads_of_no_body(shared_server):
    server = shared_server("inputapp:app")
    resp = server.request("POST", "/nonblock")
    assert json.loads(resp.body) == [0, True, b(b""), 0, True, b(b""), 0, True, b(b""),
                                      b(b""), b(b"")]


@pytest.mark.waitron_only
def test_memoryview_of_a_body_in_memory_is_read_only_and_zero_copy(shared_server):
    server = shared_server("inputapp:app")
    info = run(server, "memview", SMALL)
    assert info == {
        "readonly": True, "nbytes": len(SMALL), "ndim": 1, "format": "B",
        "content": b(SMALL), "first": b(SMALL[:1]), "store": "TypeError",
        "same_memory": True, "readonly_export": True, "view_address": True,
        "read_after": b(SMALL[:5]),
    }


@pytest.mark.waitron_only
def test_memoryview_of_a_body_in_a_temporary_file_is_a_buffer_error(shared_server):
    server = shared_server("inputapp:app", inbuf_overflow=1024)
    assert run(server, "memview", LARGE) == {"error": "BufferError", "read": b(LARGE[:5])}
