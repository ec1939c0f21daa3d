"""/sleepy answers after time.sleep(2); /busy writes "started" at once, then spins for 2 s
in pure Python (holding the GIL except at the interpreter's switch interval) before
finishing; /started_sleepy writes "started" at once, then sleeps 1 s before finishing;
anything else answers at once."""
import time


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/sleepy":
        time.sleep(2)
        body = b"sleepy returned"
    elif path == "/started_sleepy":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"started\n")
        time.sleep(1)
        return [b"slept"]
    elif path == "/busy":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"started\n")
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            pass
        return [b"busy returned"]
    else:
        body = b"notsleepy returned"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
