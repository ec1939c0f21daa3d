"""Flask and Django applications served end to end (GET and POST), over TCP and a Unix
socket."""
import pytest

BIG = bytes(range(256)) * 2400  # 600 KiB: past the default inbuf_overflow (512 KiB)


@pytest.mark.parametrize("app, greeting", [("flaskapp:app", b"hello from flask"),
                                           ("djangoapp:app", b"hello from django")])
def test_framework_app(start_server, app, greeting):
    server = start_server(app)
    resp = server.request("GET", "/")
    assert resp.status == 200
    assert resp.body == greeting
    assert resp.header("Content-Type").startswith("text/")
    for body in (b"small body", BIG):
        resp = server.request("POST", "/echo", [("Content-Type", "application/octet-stream")],
                              body)
        assert resp.status == 200
        assert resp.body == body
    assert server.request("GET", "/no/such/page").status == 404
    assert server.request("GET", "/echo").status == 405
