"""Every fixture app served through wsgiref.validate.validator, with every warning of the
server process turned into an exception: the server must give the app a valid environ,
start_response, write, wsgi.input, wsgi.errors and wsgi.file_wrapper, and close the
app_iter; a failure would show as an AssertionError or a WSGIWarning (a 500 and a
traceback), over TCP and a Unix socket."""
import pytest

from conftest import chunked, request_bytes
from fixtureapps.inputapp import PORTABLE

LETTERS = b"abcdefghijklmnopqrstuvwxyz"

# app -> [(request bytes, expected status)]
CASES = {
    "echo:app": [
        (request_bytes("GET", "/path?q=1", [("Host", "h"), ("X-A", "1")]), 200),
        (request_bytes("POST", "/", [("Content-Type", "text/plain")], b"hello"), 200),
        (request_bytes("POST", "/", [("Transfer-Encoding", "chunked")])
         + chunked(b"abc", b"def"), 200),
        (request_bytes("GET", "/", version="HTTP/1.0"), 200),
        (request_bytes("HEAD", "/"), 200),
    ],
    "echo:app_body_only": [(request_bytes("PUT", "/", body=LETTERS), 200)],
    "badcl:app": [(request_bytes("GET", "/short_body"), 200),
                  (request_bytes("GET", "/long_body"), 200)],
    "nocl:app": [(request_bytes("POST", path, body=LETTERS), 200)
                 for path in ("/", "/list", "/list_lentwo", "/empty")],
    "writecb:app": [(request_bytes("GET", path), 200) for path in
                    ("/short_body", "/long_body", "/equal_body", "/no_content_length")],
    "toolarge:app": [(request_bytes("GET", "/"), 200)],
    "filewrapper:app": [(request_bytes("GET", path), 200) for path in
                        ("/filelike/cl", "/filelike/nocl", "/notfilelike/nocl",
                         "/iobase/shortcl", "/counting/longcl", "/offset/cl", "/reads")],
    "sleepy:app": [(request_bytes("GET", "/"), 200)],
    "error:app": [(request_bytes("GET", "/before_start_response"), 500),
                  (request_bytes("GET", "/after_start_response"), 500)],
    "inputapp:app": [(request_bytes("POST", f"/{script}", body=b"a\nbb\n\nccc"), 200)
                     for script in PORTABLE],
    "startresponse:app": [(request_bytes("GET", path), 200) for path in
                          ("/closing/one/ok", "/closing/two/empty", "/closed/one")]
                         + [(request_bytes("GET", "/exc_info_unsent"), 500)],
    "disconnect:app": [(request_bytes("GET", "/result/none"), 200)],
    "bigresponse:app": [(request_bytes("GET", path), 200) for path in
                        ("/write/300000", "/iter/300000", "/record/none")],
    "leaks:app": [(request_bytes("POST", "/probe/1", body=b"x"), 200),
                  (request_bytes("GET", "/alive"), 200)],
    # Not Flask's POST: with wsgi.input_terminated, werkzeug calls wsgi.input.read() with no
    # size, which PEP 3333 does not allow and the validator refuses whatever the server.
    "flaskapp:app": [(request_bytes("GET", "/"), 200)],
    "djangoapp:app": [(request_bytes("GET", "/"), 200),
                      (request_bytes("POST", "/echo", body=LETTERS), 200)],
}


@pytest.mark.parametrize("app", sorted(CASES))
def test_app_passes_the_validator(start_server, app):
    server = start_server(app, validate=True, warnings_error=True,
                          expect_traceback=(app == "error:app"))
    for request, status in CASES[app]:
        with server.connect() as c:
            c.send(request)
            resp = c.read_response(head=request.startswith(b"HEAD"), allow_incomplete=True)
        assert resp.status == status, (request, resp.body[:2000])
    if app == "error:app":  # the two errors are the app's own, logged
        assert server.wait_for_log("FixtureError: before start_response")
        assert server.wait_for_log("FixtureError: after start_response")
    log = server.log()  # (a later failure still shows as a traceback at teardown)
    assert "AssertionError" not in log and "Warning" not in log, log
