"""Lets other threads run inside the server's own allocations: at import, every other
allocation of a tracked object starts a garbage collection (threshold 1) and a gc callback
sleeps 0.1 ms at each, releasing the GIL: application threads hand the GIL to each other
at nearly every allocation of a tracked object, the app's and the server's (the environ's
copy excepted: collections are held off there). ``app`` answers the
REQUEST_METHOD and QUERY_STRING it was given, as JSON; GET /calm puts the usual collections
back (a server stopped by a signal inside the callback's sleep would log a traceback)."""
import gc
import json
import time


def _let_others_run(phase, info):
    if phase == "start":
        time.sleep(0.0001)


gc.callbacks.append(_let_others_run)
gc.set_threshold(1, 1000, 1000)


def app(environ, start_response):
    if environ["PATH_INFO"] == "/calm":
        gc.callbacks.remove(_let_others_run)
        gc.set_threshold(700, 10, 10)
    body = json.dumps([environ["REQUEST_METHOD"], environ["QUERY_STRING"]]).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
