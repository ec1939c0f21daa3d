"""How much CPU the application itself costs inside a server: B's Flask app wrapped so that
each call's thread CPU time (time.thread_time_ns: the calling thread's CPU, not its waits for
the GIL) is summed. After WARMUP calls it counts COUNT calls, then appends one line to the
file named by $APP_COST_OUT, so the same app can be measured under waitron and under waitress
in one session:

    APP_COST_OUT=/tmp/cost.txt PYTHONPATH=build-bench/python:tools/bench_apps \\
        taskset -c 0 build-bench/src/runner/waitron-serve --listen=127.0.0.1:8081 app_cost:app
    taskset -c 1 wrk -t2 -c64 -d8s http://127.0.0.1:8081/
    (the same with: python3 -m waitress --listen=127.0.0.1:8082 --threads=4 app_cost:app)

A server's own cost per request is then its CPU per request (tools/bench) minus this.
"""

import os
import threading
import time

from flask_app import app as _flask_app

WARMUP = 2000
COUNT = 10000
_lock = threading.Lock()
_calls = 0
_total_ns = 0


def app(environ, start_response):
    global _calls, _total_ns
    started = time.thread_time_ns()
    result = _flask_app(environ, start_response)
    body = list(result)
    if hasattr(result, "close"):
        result.close()
    spent = time.thread_time_ns() - started
    with _lock:
        _calls += 1
        if _calls > WARMUP:
            _total_ns += spent
        if _calls == WARMUP + COUNT:
            with open(os.environ.get("APP_COST_OUT", "/dev/stderr"), "a") as out:
                out.write(f"{environ.get('SERVER_SOFTWARE', '?')}: the app's own CPU per call "
                          f"{_total_ns / COUNT / 1000:.1f} us over {COUNT} calls\n")
    return body
