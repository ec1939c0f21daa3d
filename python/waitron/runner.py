"""The ``waitron-serve`` command (and ``python -m waitron``): waitress-serve's command line.

    waitron-serve [OPTS] [MODULE:OBJECT]

The options are waitress-serve's (``--port=8080``, ``--no-ipv6``, repeatable
``--listen``, ``--call``, ``--app=MODULE:OBJECT`` ...), parsed by the same C++ code as the
native ``waitron-serve`` program, plus ``--config=FILE.json``: a JSON object of options
(and an optional ``"app"``) applied first, with the command line's options overriding it.
The application is imported with ``pkgutil.resolve_name``, so both ``pkg.mod:app`` and
``pkg.mod.app`` work. Without an application, waitron serves its built-in demo app where
waitress would stop with "Specify an application".
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


def run(argv=sys.argv, _serve=serve):
    """Run the command line ``argv`` (``argv[0]`` names the program); return the exit status.

    0 after the server closed (SIGINT, SIGTERM) or after --help; 1 for a usage error, a
    bad --config file or an application that cannot be imported, each printed to stderr
    with the help text. Invalid option values raise ValueError from ``_serve``.
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

    # Without a level of its own the logger would drop the "Serving on" lines.
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)

    no_app = parsed.get("app") is None and not parsed["positional"] and config_app is None
    if no_app:
        status = _serve_demo(pairs)
        if status is not None:
            return status

    try:
        spec = _waitron.choose_app(parsed, config_app)
    except ValueError as exc:
        show_help(sys.stderr, name, str(exc))
        return 1

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
