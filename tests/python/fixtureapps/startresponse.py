"""start_response rules (PEP 3333 as waitress enforces them) and app_iter.close().

Misuses, each answered by the server (500 unless noted):
  /twice                start_response twice without exc_info
  /exc_info_unsent      start_response again with exc_info before any output: "500 Oops"
  /exc_info_sent        the same after the head went out: exc_info[1] is re-raised
  /status_bytes         a bytes status
  /name_bytes, /value_bytes            a bytes header name or value
  /status_crlf, /name_crlf, /value_crlf, /value_lf   CR/LF inside them
  /crlf/WHERE/AT/CHAR   a 27-character text with CR (CHAR cr) or LF (lf) at index AT, in
                        the status's reason, a header name or a header value (WHERE);
                        CHAR 8a or 8d puts U+008A or U+008D there instead (allowed: 200)
  /hop/NAME             a hop-by-hop header NAME
  /name_space, /name_colon, /value_nul  a field name that is not a token, a NUL in a value
                        (waitress sends these as they are)
  /name_space_then_hop, /bad_status_then_hop   a field name that is not a token, or a
                        status "20 OK", and a Connection field after it
  /not_latin1, /not_latin1_status      a header value or a status beyond latin-1

/latin1 answers a status and a header value of latin-1 characters, sent as those bytes.

Callables kept past their request: /keep keeps start_response and the write callables of
its first call and of a second one with exc_info; /use_kept (a later request) calls each
and answers what each raised, as JSON.
  /no_start_response    an iterable with a body, start_response never called
  /no_start_response_empty             an empty iterable, start_response never called

app_iter.close(): /closing/ID/MODE returns an iterable whose close() records ID;
GET /closed/ID answers {"closed": true|false}. MODE is ok (two chunks), raise (raises
after the first chunk), late_bad_header (start_response with a hop-by-hop header is
called only when iteration starts), big (64 MiB in 64 KiB chunks: for a client that
goes away) or empty (no chunk at all). /close_lookup_fails returns an empty iterable whose
`close` attribute raises FixtureError when looked up (hasattr() lets it through).

Sized results: /sized/N returns an object (not a list) with __len__ = N and N chunks of
"hello"; waitress takes a Content-Length from a result whose len() is 1.

Invalid results: /result/none returns None, /result/str_list returns ["abc"] (a str in a
list, which has no close()).

Bodiless statuses: /nobody/204 and /nobody/304 answer that status and no body;
/nobody/204/body and /nobody/304/body return a body anyway (the server drops it).
"""
import json
import sys
import threading

_lock = threading.Lock()
CLOSED: set = set()
KEPT: list = []
TEXT = [("Content-Type", "text/plain")]


class FixtureError(Exception):
    pass


def _answer(start_response, status, body: bytes, headers=()):
    start_response(status, TEXT + [("Content-Length", str(len(body)))] + list(headers))
    return [body]


class Closing:
    """An app_iter (not a list, no len) that records its close()."""

    def __init__(self, ident, mode, start_response):
        self.ident, self.mode, self.start_response = ident, mode, start_response

    def __iter__(self):
        if self.mode == "late_bad_header":
            self.start_response("200 OK", TEXT + [("Upgrade", "websocket")])
            yield b"never"
            return
        if self.mode == "empty":
            return
        if self.mode == "big":
            chunk = b"z" * 65536
            for _ in range(1024):
                yield chunk
            return
        yield b"first,"
        if self.mode == "raise":
            raise FixtureError("while iterating")
        yield b"second"

    def close(self):
        with _lock:
            CLOSED.add(self.ident)


class CloseLookupFails:
    """An empty app_iter whose close attribute fails to be looked up."""

    def __iter__(self):
        return iter(())

    @property
    def close(self):
        raise FixtureError("looking up close")


class Sized:
    """An app_iter with a len(), not a list."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __iter__(self):
        return iter([b"hello"] * self.n)


def app(environ, start_response):
    path = environ["PATH_INFO"]
    parts = path.split("/")
    if parts[1] == "closed":
        with _lock:
            closed = parts[2] in CLOSED
        return _answer(start_response, "200 OK", json.dumps({"closed": closed}).encode())
    if parts[1] == "closing":
        ident, mode = parts[2], parts[3]
        if mode != "late_bad_header":
            start_response("200 OK", TEXT)
        return Closing(ident, mode, start_response)
    if path == "/close_lookup_fails":
        start_response("200 OK", TEXT)
        return CloseLookupFails()
    if parts[1] == "sized":
        start_response("200 OK", TEXT)
        return Sized(int(parts[2]))
    if parts[1] == "nobody":
        reasons = {"204": "No Content", "304": "Not Modified"}
        start_response(f"{parts[2]} {reasons[parts[2]]}", [("X-Status", parts[2])])
        return [b"dropped body"] if parts[3:] == ["body"] else []
    if path == "/result/none":
        start_response("200 OK", TEXT)
        return None
    if path == "/result/str_list":
        start_response("200 OK", TEXT)
        return ["abc"]
    if path == "/twice":
        start_response("200 OK", TEXT)
        return _answer(start_response, "200 OK", b"twice")
    if path == "/exc_info_unsent":
        start_response("200 OK", TEXT + [("X-First", "1")])
        try:
            raise FixtureError("handled before any output")
        except FixtureError:
            body = b"oops"
            start_response("500 Oops", TEXT + [("Content-Length", str(len(body)))],
                           sys.exc_info())
        return [body]
    if path == "/exc_info_sent":
        write = start_response("200 OK", TEXT + [("Content-Length", "100")])
        write(b"partial")
        try:
            raise FixtureError("after the head was sent")
        except FixtureError:
            start_response("500 Oops", TEXT, sys.exc_info())
        return [b"never sent"]
    if path == "/status_bytes":
        return _answer(start_response, b"200 OK", b"bytes status")
    if path == "/name_bytes":
        return _answer(start_response, "200 OK", b"x", [(b"X-Bytes", "v")])
    if path == "/value_bytes":
        return _answer(start_response, "200 OK", b"x", [("X-Bytes", b"v")])
    if path == "/status_crlf":
        return _answer(start_response, "200 OK\r\nX-Injected: 1", b"x")
    if path == "/name_crlf":
        return _answer(start_response, "200 OK", b"x", [("X-Injected\r\nX-Other", "v")])
    if path == "/value_crlf":
        return _answer(start_response, "200 OK", b"x", [("X-Value", "v\r\nX-Injected: 1")])
    if path == "/value_lf":
        return _answer(start_response, "200 OK", b"x", [("X-Value", "v\nX-Injected: 1")])
    if path == "/name_space":
        return _answer(start_response, "200 OK", b"x", [("X Space", "v")])
    if path == "/name_colon":
        return _answer(start_response, "200 OK", b"x", [("X-Injected:1\tX", "v")])
    if path == "/name_space_then_hop":
        return _answer(start_response, "200 OK", b"x", [("X Space", "v"), ("Connection", "x")])
    if path == "/bad_status_then_hop":
        return _answer(start_response, "20 OK", b"x", [("Connection", "x")])
    if path == "/value_nul":
        return _answer(start_response, "200 OK", b"x", [("X-Value", "a\x00b")])
    if path == "/latin1":
        return _answer(start_response, "200 \xc9t\xe9", b"x", [("X-Latin", "caf\xe9 \xff")])
    if path == "/not_latin1":
        return _answer(start_response, "200 OK", b"x", [("X-Euro", "\u20ac")])
    if path == "/not_latin1_status":
        return _answer(start_response, "200 \u20ac", b"x")
    if path == "/keep":
        first = start_response("200 OK", TEXT)
        try:
            raise ValueError("replaced")
        except ValueError:
            second = start_response("200 OK", TEXT + [("X-Second", "1")], sys.exc_info())
        with _lock:
            KEPT[:] = [start_response, first, second]
        return [b"kept"]
    if path == "/use_kept":
        with _lock:
            kept = list(KEPT)
        raised = []
        for call in kept:
            try:
                if call is kept[0]:
                    call("200 OK", TEXT)
                else:
                    call(b"late")
                raised.append(None)
            except Exception as e:  # noqa: BLE001 - the type and text are the answer
                raised.append(f"{type(e).__name__}: {e}")
        return _answer(start_response, "200 OK", json.dumps(raised).encode())
    if parts[1] == "crlf":
        chars = {"cr": "\r", "lf": "\n", "8a": "\x8a", "8d": "\x8d"}
        where, at, char = parts[2], int(parts[3]), chars[parts[4]]
        text = "x" * at + char + "y" * (26 - at)
        if where == "status":
            return _answer(start_response, "200 " + text, b"x")
        if where == "name":
            return _answer(start_response, "200 OK", b"x", [("X" + text, "v")])
        return _answer(start_response, "200 OK", b"x", [("X-Value", text)])
    if parts[1] == "hop":
        return _answer(start_response, "200 OK", b"x", [(parts[2], "x")])
    if path == "/no_start_response":
        return [b"body without a status"]
    if path == "/no_start_response_empty":
        return []
    return _answer(start_response, "404 Not Found", b"no such fixture")
