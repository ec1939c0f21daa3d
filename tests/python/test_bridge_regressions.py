"""Regressions found by the review of the Python bridge (the C++ _waitron extension)."""
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import urllib.request

import pytest

from waitron import _waitron


def serve(app, **options):
    server = _waitron.Server(app, [("listen", "127.0.0.1:0")] + list(options.items()))
    host, port, _ = server.addresses()[0]
    thread = threading.Thread(target=server.run, kwargs={"handle_signals": False})
    thread.start()
    return server, thread, f"http://{host}:{port}"


def stop(server, thread):
    server.close()
    thread.join(10)
    assert not thread.is_alive()


def test_threading_local_survives_between_requests():
    # Each application thread keeps its Python thread state, as waitress's threads do.
    local = threading.local()

    def app(environ, start_response):
        local.n = getattr(local, "n", 0) + 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(local.n).encode()]

    server, thread, url = serve(app, threads=1)
    try:
        seen = [urllib.request.urlopen(url, timeout=10).read() for _ in range(3)]
        assert seen == [b"1", b"2", b"3"]
    finally:
        stop(server, thread)


def test_write_then_file_wrapper_sends_both(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"0123456789" * 10)

    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"head-")
        return environ["wsgi.file_wrapper"](open(path, "rb"))

    server, thread, url = serve(app)
    try:
        assert urllib.request.urlopen(url, timeout=10).read() == b"head-" + b"0123456789" * 10
    finally:
        stop(server, thread)


def test_header_pairs_may_be_lists_and_content_length_may_have_spaces():
    def app(environ, start_response):
        start_response("200 OK", [["X-A", "1"], ("Content-Length", " 5 ")])
        return [b"hello"]

    server, thread, url = serve(app)
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.headers["X-A"] == "1"
            assert r.headers["Content-Length"] == "5"
            assert r.read() == b"hello"
    finally:
        stop(server, thread)


def test_an_invalid_content_length_is_start_responses_value_error():
    bad = ["", " ", "5x", "-1", "+5", "0x10", "5 5", "18446744073709551616"]

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/max":  # the largest length is taken (the body is cut)
            start_response("200 OK", [("Content-Length", "\t18446744073709551615 ")])
            return [b""]
        refused = []
        for value in bad:
            try:
                start_response("200 OK", [("Content-Length", value)])
            except ValueError as e:
                refused.append(value if str(e).startswith("invalid Content-Length") else str(e))
        start_response("200 OK", [])
        return [repr(refused).encode()]

    server, thread, url = serve(app)
    try:
        _, body = _raw_get(url, "/")
        assert body == repr(bad).encode()
        head, _ = _raw_get(url, "/max")
        assert "Content-Length: 18446744073709551615" in head
    finally:
        stop(server, thread)


def test_addresses_is_safe_from_another_thread_while_closing():
    server, thread, url = serve(lambda e, s: s("200 OK", []) or [b""])
    stop_reading = threading.Event()

    def reader():
        while not stop_reading.is_set():
            assert server.addresses()[0][0] == "127.0.0.1"

    t = threading.Thread(target=reader)
    t.start()
    try:
        stop(server, thread)
    finally:
        stop_reading.set()
        t.join(10)


def test_seek_overflow_is_an_error_not_undefined_behaviour():
    stream = _waitron.InputStream(b"abc")
    stream.read(1)
    try:
        stream.seek(2 ** 63 - 1, 1)
    except OverflowError:
        pass
    else:
        raise AssertionError("seek past 2**63 must raise OverflowError")


def test_a_second_signal_ends_a_server_stuck_in_its_application(tmp_path):
    code = textwrap.dedent("""
        import time
        from waitron import _waitron
        def app(environ, start_response):
            print("in app", flush=True)
            time.sleep(60)
            start_response("200 OK", [])
            return [b"late"]
        s = _waitron.Server(app, [("listen", "127.0.0.1:0"), ("shutdown_timeout", 1)])
        print(s.addresses()[0][1], flush=True)
        s.run()
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=dict(os.environ))
    try:
        port = int(proc.stdout.readline())
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b"GET / HTTP/1.1\r\n\r\n")
            assert proc.stdout.readline() == b"in app\n"  # the request is in the application
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(1.5)
                raise AssertionError("the first signal must wait for the request")
            except subprocess.TimeoutExpired:
                pass
            proc.send_signal(signal.SIGINT)
            assert proc.wait(10) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_an_oserror_from_the_app_follows_log_socket_errors():
    # waitress: with log_socket_errors off, the OSError is swallowed (no 500, no log,
    # the connection closes); with it on (the default), it is a 500.
    def app(environ, start_response):
        raise FileNotFoundError("gone")

    for flag, expect_500 in ((False, False), (True, True)):
        server = _waitron.Server(app, [("listen", "127.0.0.1:0"), ("log_socket_errors", flag)])
        host, port, _ = server.addresses()[0]
        thread = threading.Thread(target=server.run, kwargs={"handle_signals": False})
        thread.start()
        try:
            with socket.create_connection((host, int(port)), timeout=10) as c:
                c.sendall(b"GET / HTTP/1.1\r\n\r\n")
                got = b""
                while True:
                    data = c.recv(4096)
                    if not data:
                        break
                    got += data
            if expect_500:
                assert got.startswith(b"HTTP/1.1 500 ")
            else:
                assert got == b"", got
        finally:
            server.close()
            thread.join(10)


def test_proxy_headers_keyword_says_who_applies_the_rules():
    # "python" (the default): the caller wraps the app in waitron.proxy_headers, so the C++
    # server leaves the headers alone; "server": the C++ server applies them (waitron.server
    # does so). Anything else is refused.
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        seen = "{} {} {}".format(environ["REMOTE_ADDR"], environ["wsgi.url_scheme"],
                                 environ.get("HTTP_X_FORWARDED_FOR"))
        return [seen.encode()]

    options = [("listen", "127.0.0.1:0"), ("trusted_proxy", "*"),
               ("trusted_proxy_headers", "x-forwarded-for x-forwarded-proto")]
    results = {}
    for who in ("python", "server"):
        server = _waitron.Server(app, options, proxy_headers=who)
        host, port, _ = server.addresses()[0]
        thread = threading.Thread(target=server.run, kwargs={"handle_signals": False})
        thread.start()
        try:
            request = urllib.request.Request(
                f"http://{host}:{port}/",
                headers={"X-Forwarded-For": "192.0.2.7", "X-Forwarded-Proto": "https"})
            results[who] = urllib.request.urlopen(request, timeout=10).read().decode()
        finally:
            stop(server, thread)
    assert results["python"] == "127.0.0.1 http 192.0.2.7"
    assert results["server"] == "192.0.2.7 https 192.0.2.7"
    try:
        _waitron.Server(app, options, proxy_headers="nginx")
    except ValueError as e:
        assert "proxy_headers" in str(e)
    else:
        raise AssertionError("proxy_headers='nginx' was accepted")


def test_exit_with_a_daemon_thread_returning_from_run_is_clean():
    # A daemon thread's run() returns (close() from the main thread) while the interpreter
    # finalizes: taking the GIL back ends the thread with pthread_exit, whose unwinding must
    # pass the frames of run(). It once met a noexcept destructor there: std::terminate,
    # an abort at every exit of such a program (waitress exits quietly).
    code = textwrap.dedent("""
        import threading, time
        from waitron import _waitron
        for threads in (0, 2):
            s = _waitron.Server(lambda e, r: [], [("listen", "127.0.0.1:0"), ("threads", threads)])
            threading.Thread(target=s.run, kwargs={"handle_signals": False}, daemon=True).start()
            time.sleep(0.2)
            s.close()
        print("exiting", flush=True)
    """)
    for _ in range(3):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60,
                              env=dict(os.environ))
        assert proc.stdout == b"exiting\n"
        assert b"terminate" not in proc.stderr, proc.stderr.decode(errors="replace")
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")


_EXIT_INSIDE_APP = textwrap.dedent("""
    import atexit, socket, sys, threading, time
    from waitron import _waitron
    where, threads = sys.argv[1], int(sys.argv[2])
    inside = threading.Event()

    def app(environ, start_response):
        if where == "read":
            start_response("200 OK", [])
            inside.set()
            environ["wsgi.input"].read(10)
            return [b"never"]
        if where == "sleep":
            inside.set()
            while True:
                time.sleep(0.001)
        def stream():
            yield b"first"
            inside.set()
            while True:
                time.sleep(0.001)
        start_response("200 OK", [])
        return stream()

    options = [("listen", "127.0.0.1:0"), ("threads", threads)]
    if where == "read":  # the app is called before the body comes
        options.append(("stream_request_body", True))
    s = _waitron.Server(app, options)
    port = s.addresses()[0][1]
    threading.Thread(target=s.run, kwargs={"handle_signals": False}, daemon=True).start()
    c = socket.create_connection(("127.0.0.1", port))
    head = "POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 10\\r\\n\\r\\n"
    c.sendall(head.encode() if where == "read" else b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
    assert inside.wait(10)
    time.sleep(0.2)  # into the sleep, the iteration or read()
    if where == "read":
        # The body comes as the interpreter begins to finalize: read() returns and asks for
        # the GIL, which the main thread gives up during finalization. (Sent later, from a
        # __del__ run when __main__ is cleared, the thread was never given the GIL back.)
        # Whether the thread gets the GIL before the process ends depends on timing: the
        # old code failed this case in one run of three.
        atexit.register(c.sendall, b"0123456789")
    print("exiting", flush=True)
""")


@pytest.mark.parametrize("where,threads",
                         [("sleep", 0), ("sleep", 2), ("stream", 0), ("stream", 2), ("read", 2)])
def test_exit_with_a_request_inside_the_app_of_a_daemon_server_is_clean(where, threads):
    # The program exits while its daemon server thread has a request inside the app: the
    # app's thread (a worker, or the loop thread in inline mode) asks for the GIL back while
    # the interpreter finalizes, and CPython before 3.14 ends it with pthread_exit. Its
    # forced unwinding once met the server's catch (...) ("FATAL: exception not rethrown",
    # an abort) or destructors touching Python without the GIL. Now the thread is kept
    # waiting, as CPython 3.14 does, until the process ends; waitress exits quietly too.
    # Where the app is: in its own code (a sleep), in the result's iteration (a generator
    # between two chunks), or in wsgi.input.read(), whose body comes at the exit.
    proc = subprocess.run([sys.executable, "-c", _EXIT_INSIDE_APP, where, str(threads)],
                          capture_output=True, timeout=60, env=dict(os.environ))
    what = f"rc {proc.returncode} " + proc.stderr.decode(errors="replace")
    assert proc.stdout == b"exiting\n", what
    assert proc.returncode == 0, what
    assert b"FATAL" not in proc.stderr and b"Fatal" not in proc.stderr, what
    assert b"runtime error" not in proc.stderr, what  # UBSan, in the sanitizer build


def _raw_get(url, path):
    host, port = url[len("http://"):].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as c:
        c.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := c.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode("latin-1").split("\r\n"), body


def test_the_head_start_response_checked_is_the_one_sent_once_the_body_starts(tmp_path):
    # start_response checks the head at once (the app sees the error) and hands it to the
    # server only when the body starts: a Content-Length found later replaces the app's.
    path = tmp_path / "f.bin"
    path.write_bytes(b"F" * 1000)

    def app(environ, start_response):
        where = environ["PATH_INFO"]
        if where == "/file_with_longer_lengths":
            start_response("200 OK", [("Content-Length", "5000"), ("content-length", "5000")])
            return environ["wsgi.file_wrapper"](open(path, "rb"))
        if where == "/bad_then_good":
            try:
                start_response("200 OK", [("Bad Name", "x")])
            except ValueError:
                start_response("201 Created", [("X-Retried", "1")])
            return [b"ok"]
        if where == "/one_chunk":
            start_response("200 OK", [("X-A", "1")])
            return [b"12345"]
        if where == "/empty_204":
            start_response("204 No Content", [("X-B", "2")])
            return []
        return [b"unknown"]

    server, thread, url = serve(app)
    try:
        head, body = _raw_get(url, "/file_with_longer_lengths")
        assert [h for h in head if h.lower().startswith("content-length")] == [
            "Content-Length: 1000"]
        assert body == b"F" * 1000
        head, body = _raw_get(url, "/bad_then_good")
        assert head[0] == "HTTP/1.1 201 Created" and "X-Retried: 1" in head and body == b"ok"
        head, body = _raw_get(url, "/one_chunk")
        assert "Content-Length: 5" in head and "X-A: 1" in head and body == b"12345"
        assert not any(h.lower().startswith("transfer-encoding") for h in head)
        head, body = _raw_get(url, "/empty_204")
        assert head[0] == "HTTP/1.1 204 No Content" and "X-B: 2" in head and body == b""
    finally:
        stop(server, thread)
