"""An app for inline mode (threads=0): it reports the thread it runs on, calls the
PyGILState API from inside the request, streams a response far larger than
outbuf_high_watermark, and writes from helper threads (/helpers/N: N threads each write
their number and a 70,000-byte line, one after the other); anything else echoes the
request body."""
import ctypes
import threading

_local = threading.local()


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/thread":
        _local.count = getattr(_local, "count", 0) + 1
        body = "%d %d %d" % (threading.get_ident(), threading.main_thread().ident,
                             _local.count)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body.encode()]
    if path == "/gilstate":
        # C extensions do this from callbacks; it must find the thread's own state.
        state = ctypes.pythonapi.PyGILState_Ensure()
        ctypes.pythonapi.PyGILState_Release(state)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"gilstate ok"]
    if path.startswith("/helpers/"):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        for n in range(int(path.rsplit("/", 1)[1])):
            helper = threading.Thread(target=lambda n=n: write(b"%d" % n + b"h" * 70000 + b"\n"))
            helper.start()
            helper.join()
        return [b"main"]
    if path == "/big":
        start_response("200 OK", [("Content-Length", str(64 * 65536))])
        return (b"x" * 65536 for _ in range(64))
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"echo " + body]
