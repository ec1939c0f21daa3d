"""Client-disconnect detection: GET /wait/ID writes one line, then polls
environ[$DISCONNECT_KEY + ".client_disconnected"] (waitron or waitress) for up to 5 s
and records whether it turned true; GET /result/ID answers {"result": true|false|null}
(null: not finished yet)."""
import json
import os
import threading
import time

KEY = os.environ.get("DISCONNECT_KEY", "waitron")
_lock = threading.Lock()
RESULTS: dict = {}


def _poll(check) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False


def app(environ, start_response):
    _, action, ident = environ["PATH_INFO"].split("/")
    if action == "wait":
        check = environ[KEY + ".client_disconnected"]
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"waiting\n")
        seen = _poll(check)
        with _lock:
            RESULTS[ident] = seen
        return []
    with _lock:
        body = json.dumps({"result": RESULTS.get(ident)}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
