"""The ``waitron-serve`` command (and ``python -m waitron``): waitress-serve's command line.

    waitron-serve [OPTS] [MODULE:OBJECT]

The options are waitress-serve's (``--port=8080``, ``--no-ipv6``, repeatable
``--listen``, ``--call``, ``--app=MODULE:OBJECT`` ...), parsed by the same C++ code as the
native ``waitron-serve`` program, plus ``--config=FILE.json``: a JSON object of options
(and an optional ``"app"``) applied first, with the command line's options overriding it.
The application is imported with ``pkgutil.resolve_name``, so both ``pkg.mod:app`` and
``pkg.mod.app`` work. Without an application, waitron serves its built-in demo app where
waitress would stop with "Specify an application".

Worker processes (``--workers=N`` with N > 1, or ``--max-requests=N``): this runner uses
the C++ supervisor of waitron-serve (src/runner/supervisor.hpp) through
``_waitron.supervise``. It opens the listening sockets once, then forks; the supervisor
stays in that call until it is done and its status is returned, while each worker gets
the sockets' descriptors back and goes on as a single process would: it imports the
application after the fork (as gunicorn does without preload, so nothing of the
application, threads included, exists in the supervisor) and serves the inherited
sockets. Usage errors are found before the fork (``status_listen`` with workers is one:
each worker's server would bind it; status 1); an application that cannot be imported
fails every worker, and the supervisor then exits with status 1.

systemd socket activation: with LISTEN_PID naming this process and no address option
(``--listen``, ``--host``, ``--port``, ``--unix-socket``, ``--sockets``), the
LISTEN_FDS descriptors (3, 4, ...) are served, as by waitron-serve.
"""

import logging
import os
import pkgutil
import sys
import traceback

from . import _waitron, serve

logger = logging.getLogger("waitron")


def show_help(stream, name, error=None):
    """Print the usage text to ``stream``, after "Error: <error>" and a blank line if given."""
    if error is not None:
        print("Error: {}\n".format(error), file=stream)
    text = _waitron.help_text(name)
    stream.write(text if text.endswith("\n") else text + "\n")


def _load_config(path):
    """The options and the application of a --config file; ValueError names the file."""
    values, app = _waitron.load_json_config(path)
    return [tuple(pair) for pair in values], app


def _serve_demo(pairs):
    """Serve the built-in demo application (no application was named)."""
    serve_demo = getattr(_waitron, "serve_demo", None)
    if serve_demo is None:
        return None
    logging.basicConfig()  # as serve() does, so that the banner shows
    status = serve_demo(pairs)
    return 0 if status is None else int(status)


_ADDRESS_OPTIONS = ("listen", "host", "port", "unix_socket", "sockets")


def _systemd_sockets():
    """The descriptors systemd passed (sd_listen_fds), or [] when they are not ours."""
    try:
        if int(os.environ.get("LISTEN_PID", "")) != os.getpid():
            return []
        count = int(os.environ.get("LISTEN_FDS", ""))
    except ValueError:
        return []
    return list(range(3, 3 + min(max(count, 0), 256)))


def _worker_pairs(pairs, fds):
    """A worker's options: the supervisor's sockets instead of the address options."""
    return [pair for pair in pairs if pair[0] not in _ADDRESS_OPTIONS] + [("sockets", fds)]


def run(argv=sys.argv, _serve=serve):
    """Run the command line ``argv`` (``argv[0]`` names the program); return the exit status.

    0 after the server closed (SIGINT, SIGTERM) or after --help; 1 for a usage error, a
    bad --config file, options that worker processes cannot honour or an application that
    cannot be imported, each printed to stderr with the help text. Invalid option values raise ValueError from ``_serve``.
    """
    # As waitress does: the application may live in the current directory.
    sys.path.append(os.getcwd())
    name = os.path.basename(argv[0])

    try:
        parsed = _waitron.parse_cli(list(argv[1:]))
    except ValueError as exc:
        show_help(sys.stderr, name, str(exc))
        return 1

    if parsed["help"]:
        show_help(sys.stdout, name)
        return 0

    pairs = []
    config_app = None
    if parsed.get("config") is not None:
        try:
            pairs, config_app = _load_config(parsed["config"])
        except (OSError, ValueError) as exc:
            show_help(sys.stderr, name, str(exc))
            return 1
    # The command line's values come last, so they replace the file's.
    pairs.extend(tuple(pair) for pair in parsed["values"])

    if not any(option in _ADDRESS_OPTIONS for option, _ in pairs):
        fds = _systemd_sockets()
        if fds:
            pairs.append(("sockets", fds))

    # Without a level of its own the logger would drop the "Serving on" lines.
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)

    no_app = parsed.get("app") is None and not parsed["positional"] and config_app is None
    demo = no_app and getattr(_waitron, "serve_demo", None) is not None
    spec = None
    if not demo:
        try:
            spec = _waitron.choose_app(parsed, config_app)
        except ValueError as exc:
            show_help(sys.stderr, name, str(exc))
            return 1

    supervised = None
    if any(option in ("workers", "max_requests") for option, _ in pairs):
        logging.basicConfig()  # as serve() does, for the supervisor's lines
        try:
            supervised = _waitron.supervise(pairs)
        except ValueError as exc:
            # An option that workers cannot honour (status_listen) or an invalid value.
            show_help(sys.stderr, name, str(exc))
            return 1
    if supervised is not None:
        role, value = supervised
        if role == "exit":
            return value  # the supervisor, after its workers are gone
        pairs = _worker_pairs(pairs, value)

    if demo:
        return _serve_demo(pairs)

    try:
        app = pkgutil.resolve_name(spec)
    except (ValueError, ImportError, AttributeError) as exc:
        show_help(sys.stderr, name, "Cannot import WSGI application '{}': {}".format(spec, exc))
        traceback.print_exc(file=sys.stderr)
        return 1
    if parsed["call"]:
        app = app()

    kw = {}
    for option, value in pairs:
        kw[option] = value
    _serve(app, **kw)
    return 0


def main():
    """The console script's entry point: exit with run()'s status."""
    sys.exit(run())
