"""Serves one fixture app for the WSGI suite (see ../conftest.py).

    python3 launch.py [--backend waitron|waitress] [--validate] [--warnings-error]
                      MODULE:APP (tcp | unix:PATH) KWARGS_JSON

MODULE is a module of this folder (``echo:app``) or any importable one. The server is
``waitron.server.TcpWSGIServer(app, host="127.0.0.1", port=0, **kw)`` or
``UnixWSGIServer(app, unix_socket=PATH, **kw)``; once it listens, the bound address goes
to stdout as one JSON line (["127.0.0.1", port] or the socket's path), then ``run()``.
--validate wraps the app in wsgiref.validate.validator; --warnings-error turns every
warning after the app's import into an exception. Log records go to stderr as
LEVEL:logger:message.
"""
import argparse
import importlib
import json
import logging
import os
import signal
import sys
import warnings


def load_app(spec: str):
    module_name, _, attr = spec.partition(":")
    if "." not in module_name:
        module_name = "fixtureapps." + module_name
    app = importlib.import_module(module_name)
    for part in (attr or "app").split("."):
        app = getattr(app, part)
    return app


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="waitron", choices=["waitron", "waitress"])
    parser.add_argument("--validate", action="store_true")
    parser.add_argument("--warnings-error", action="store_true")
    parser.add_argument("app")
    parser.add_argument("where")
    parser.add_argument("kwargs")
    args = parser.parse_args()

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s:%(name)s:%(message)s")
    # tests/python instead of this folder: fixture apps import as fixtureapps.NAME.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    app = load_app(args.app)
    if args.warnings_error:  # after the app's imports: warnings of the server and the app
        warnings.simplefilter("error")
    if args.validate:
        from wsgiref.validate import validator
        app = validator(app)

    kw = json.loads(args.kwargs)
    if isinstance(kw.get("trusted_proxy_headers"), list):
        kw["trusted_proxy_headers"] = set(kw["trusted_proxy_headers"])

    if args.backend == "waitress":
        from waitress import server

        # waitress 3's default; waitress 2 warns without it.
        kw.setdefault("clear_untrusted_proxy_headers", True)

        # waitress dies of SIGTERM; end its loop instead, as waitron does.
        def stop(signum, frame):
            raise KeyboardInterrupt
        signal.signal(signal.SIGTERM, stop)
    else:
        from waitron import server

    if args.where == "tcp":
        srv = server.TcpWSGIServer(app, host="127.0.0.1", port=0, **kw)
        address = list(srv.socket.getsockname()[:2])
    else:
        path = args.where[len("unix:"):]
        srv = server.UnixWSGIServer(app, unix_socket=path, **kw)
        address = srv.socket.getsockname()
    sys.stdout.write(json.dumps(address) + "\n")
    sys.stdout.flush()
    srv.run()
    if args.backend == "waitress":  # it leaves sockets to the garbage collector
        warnings.simplefilter("ignore", ResourceWarning)
    return 0


if __name__ == "__main__":
    sys.exit(main())
