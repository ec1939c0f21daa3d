"""Tests of waitron.runner.run with a fake ``_serve`` (waitress's runner tests, plus
waitron's --config file and demo-app behaviour), and of ``python -m waitron``.
"""

import json
import logging
import os
import subprocess
import sys
import textwrap

import pytest

from waitron import _waitron, runner

pytestmark = pytest.mark.skipif(
    not hasattr(_waitron, "parse_cli"), reason="the _waitron extension is not built yet"
)

FIXTURE_MODULE = "waitron_runner_fixture_apps"


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Run each test in an empty folder holding the fixture module, with sys.path, the
    module cache and the "waitron" logger level restored afterwards."""
    (tmp_path / (FIXTURE_MODULE + ".py")).write_text(
        textwrap.dedent(
            """
            def app(environ, start_response):
                start_response("200 OK", [])
                return [b"ok"]

            def returns_app():
                return app

            class Holder:
                inner = staticmethod(app)
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path)] + sys.path)
    monkeypatch.delitem(sys.modules, FIXTURE_MODULE, raising=False)
    logger = logging.getLogger("waitron")
    level = logger.level
    yield tmp_path
    logger.setLevel(level)
    sys.modules.pop(FIXTURE_MODULE, None)


class FakeServe:
    def __init__(self):
        self.calls = []

    def __call__(self, app, **kw):
        self.calls.append((app, kw))


def run(argv, serve=None):
    return runner.run(["waitron-serve"] + argv, _serve=serve or FakeServe())


def fixture_app():
    import importlib

    return importlib.import_module(FIXTURE_MODULE).app


def assert_usage_error(capsys, status, message):
    captured = capsys.readouterr()
    assert status == 1
    assert captured.out == ""
    assert captured.err.startswith("Error: {}\n\nUsage:\n\n    waitron-serve".format(message))


def test_bad(capsys):
    assert_usage_error(capsys, run(["--bad-opt"]), "option --bad-opt not recognized")


def test_missing_argument(capsys):
    assert_usage_error(capsys, run(["--threads"]), "option --threads requires argument")


def test_help(capsys):
    serve = FakeServe()
    assert run(["--help"], serve) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("Usage:\n\n    waitron-serve")
    assert "--trusted-proxy-headers" in captured.out
    assert captured.err == ""
    assert serve.calls == []


def test_help_skips_app_resolution(capsys):
    assert run(["--help", "nonexistent:a"]) == 0


def test_no_app(capsys, monkeypatch):
    monkeypatch.delattr(_waitron, "serve_demo", raising=False)
    assert_usage_error(capsys, run([]), "Specify an application")


def test_no_app_serves_the_demo(monkeypatch):
    calls = []
    monkeypatch.setattr(_waitron, "serve_demo", calls.append, raising=False)
    serve = FakeServe()
    assert run(["--port=81", "--call"], serve) == 0
    assert calls == [[("port", "81")]]
    assert serve.calls == []


def test_multiple_apps_app(capsys):
    assert_usage_error(capsys, run(["a:a", "b:b"]), "Provide only one WSGI app")


def test_app_option_and_positional(capsys):
    assert_usage_error(capsys, run(["--app=a:a", "b:b"]), "Provide only one WSGI app")


def test_options_after_the_app_are_positional(capsys):
    # getopt semantics, as waitress-serve: everything after the application is positional.
    assert_usage_error(capsys, run(["--call", "a:a", "--port=1"]), "Provide only one WSGI app")


def test_bad_apps_app(capsys):
    status = run(["a"])
    captured = capsys.readouterr()
    assert status == 1
    assert captured.err.startswith(
        "Error: Cannot import WSGI application 'a': No module named 'a'\n\nUsage:"
    )
    assert "Traceback (most recent call last)" in captured.err


def test_bad_app_module(capsys):
    status = run(["nonexistent:a"])
    captured = capsys.readouterr()
    assert status == 1
    assert captured.err.startswith(
        "Error: Cannot import WSGI application 'nonexistent:a': No module named 'nonexistent'"
    )


def test_bad_app_object(capsys):
    status = run([FIXTURE_MODULE + ":a"])
    captured = capsys.readouterr()
    assert status == 1
    assert captured.err.startswith(
        "Error: Cannot import WSGI application '{0}:a': module '{0}' has no attribute 'a'".format(
            FIXTURE_MODULE
        )
    )


def test_malformed_app_spec(capsys):
    status = run(["foo#bar:barney"])
    captured = capsys.readouterr()
    assert status == 1
    assert captured.err.startswith("Error: Cannot import WSGI application 'foo#bar:barney': ")


def test_cwd_added_to_path(isolated, monkeypatch):
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(isolated)])
    assert run([FIXTURE_MODULE + ":app"]) == 0
    assert sys.path[-1] == str(isolated)


def test_simple_call():
    serve = FakeServe()
    assert run(["--port=80", FIXTURE_MODULE + ":app"], serve) == 0
    assert serve.calls == [(fixture_app(), {"port": "80"})]


def test_app_option():
    serve = FakeServe()
    assert run(["--app=" + FIXTURE_MODULE + ":app"], serve) == 0
    assert serve.calls == [(fixture_app(), {})]


def test_dotted_names_resolve():
    serve = FakeServe()
    assert run([FIXTURE_MODULE + ":Holder.inner"], serve) == 0
    assert run([FIXTURE_MODULE + ".app"], serve) == 0
    assert [app for app, _ in serve.calls] == [fixture_app(), fixture_app()]


def test_returned_app():
    serve = FakeServe()
    assert run(["--port=80", "--call", FIXTURE_MODULE + ":returns_app"], serve) == 0
    assert serve.calls == [(fixture_app(), {"port": "80"})]


def test_values_stay_strings_and_listen_accumulates():
    serve = FakeServe()
    argv = ["--listen=127.0.0.1:1", "--listen=[::1]:2", "--no-ipv4", "--threads=8",
            FIXTURE_MODULE + ":app"]
    assert run(argv, serve) == 0
    assert serve.calls[0][1] == {"listen": " 127.0.0.1:1 [::1]:2", "ipv4": "false", "threads": "8"}


def test_logger_level_set_when_unset():
    logger = logging.getLogger("waitron")
    logger.setLevel(logging.NOTSET)
    run([FIXTURE_MODULE + ":app"])
    assert logger.level == logging.INFO


def test_logger_level_kept_when_set():
    logger = logging.getLogger("waitron")
    logger.setLevel(logging.ERROR)
    run([FIXTURE_MODULE + ":app"])
    assert logger.level == logging.ERROR


def test_config_file_then_command_line(isolated):
    config = isolated / "site.json"
    settings = {"threads": 8, "url_scheme": "https", "app": FIXTURE_MODULE + ":app"}
    config.write_text(json.dumps(settings))
    serve = FakeServe()
    assert run(["--config=" + str(config), "--threads=2"], serve) == 0
    app, kw = serve.calls[0]
    assert app is fixture_app()
    # The file's values first, the command line's replacing them.
    assert kw == {"threads": "2", "url_scheme": "https"}


def test_command_line_app_wins_over_config_app(isolated):
    config = isolated / "site.json"
    config.write_text(json.dumps({"app": "nonexistent:app"}))
    serve = FakeServe()
    assert run(["--config", str(config), "--call", FIXTURE_MODULE + ":returns_app"], serve) == 0
    assert serve.calls == [(fixture_app(), {})]


def test_bad_config_file(isolated, capsys):
    config = isolated / "site.json"
    config.write_text(json.dumps({"therads": 8}))
    status = run(["--config=" + str(config), FIXTURE_MODULE + ":app"])
    captured = capsys.readouterr()
    assert status == 1
    assert captured.err.startswith("Error: " + str(config))
    assert "therads" in captured.err.splitlines()[0]


def test_missing_config_file(capsys):
    status = run(["--config=missing.json", FIXTURE_MODULE + ":app"])
    captured = capsys.readouterr()
    assert status == 1
    assert captured.err.startswith("Error: missing.json")


def test_invalid_values_raise_from_serve():
    def serve(app, **kw):
        raise ValueError("invalid literal for int() with base 10: 'abc'")

    with pytest.raises(ValueError):
        runner.run(["waitron-serve", "--port=abc", FIXTURE_MODULE + ":app"], _serve=serve)


def test_main_exits_with_the_status(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["waitron-serve", "--bad-opt"])
    with pytest.raises(SystemExit) as info:
        runner.main()
    assert info.value.code == 1


def python_m_waitron(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return subprocess.run(
        [sys.executable, "-m", "waitron"] + list(args),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env,
        timeout=60,
    )


def test_python_m_waitron_help():
    result = python_m_waitron("--help")
    assert result.returncode == 0
    assert result.stdout.startswith("Usage:\n\n    python -m waitron [OPTS]")


def test_python_m_waitron_returns_the_status():
    result = python_m_waitron("--bad-opt")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: option --bad-opt not recognized")


# --- systemd socket activation (LISTEN_FDS) -------------------------------------------------

def test_listen_fds_become_the_sockets(monkeypatch):
    monkeypatch.setenv("LISTEN_PID", str(os.getpid()))
    monkeypatch.setenv("LISTEN_FDS", "2")
    serve = FakeServe()
    assert run(["--threads=2", FIXTURE_MODULE + ":app"], serve) == 0
    assert serve.calls[0][1] == {"threads": "2", "sockets": [3, 4]}


def test_listen_fds_of_another_process_are_ignored(monkeypatch):
    monkeypatch.setenv("LISTEN_PID", str(os.getpid() + 1))
    monkeypatch.setenv("LISTEN_FDS", "1")
    serve = FakeServe()
    assert run([FIXTURE_MODULE + ":app"], serve) == 0
    assert serve.calls[0][1] == {}


def test_an_address_option_wins_over_listen_fds(monkeypatch):
    monkeypatch.setenv("LISTEN_PID", str(os.getpid()))
    monkeypatch.setenv("LISTEN_FDS", "1")
    serve = FakeServe()
    assert run(["--port=8081", FIXTURE_MODULE + ":app"], serve) == 0
    assert serve.calls[0][1] == {"port": "8081"}


def test_a_worker_serves_the_supervisors_sockets():
    pairs = [("listen", "127.0.0.1:0"), ("threads", "2"), ("workers", "2")]
    assert runner._worker_pairs(pairs, [5]) == [("threads", "2"), ("workers", "2"),
                                                 ("sockets", [5])]


def test_workers_with_an_unusable_address_fail_before_forking():
    with pytest.raises(OSError):
        _waitron.supervise([("listen", "192.0.2.1:1"), ("workers", "2")])
    assert _waitron.supervise([("workers", "1")]) is None
