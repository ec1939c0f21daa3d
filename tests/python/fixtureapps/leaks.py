"""Reference leaks: GET /probe leaves a sentinel object in its environ and returns an
app_iter object; the app keeps only weak references to both. GET /alive runs the garbage
collector and answers {"environs": N, "app_iters": M}: how many of those objects of
earlier requests are still alive (0 and 0 once the server dropped every reference)."""
import gc
import json
import threading
import weakref

_lock = threading.Lock()
ENVIRONS: list = []
APP_ITERS: list = []


class Sentinel:
    pass


class Body:
    def __init__(self, data):
        self.data = data

    def __iter__(self):
        yield self.data

    def close(self):
        pass


def app(environ, start_response):
    if environ["PATH_INFO"] == "/alive":
        gc.collect()
        with _lock:
            body = json.dumps({"environs": sum(r() is not None for r in ENVIRONS),
                               "app_iters": sum(r() is not None for r in APP_ITERS)}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    sentinel = Sentinel()
    environ["fixture.sentinel"] = sentinel
    body = Body(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
    with _lock:
        ENVIRONS.append(weakref.ref(sentinel))
        APP_ITERS.append(weakref.ref(body))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return body
