"""waitron: a C++ HTTP/1.1 server for WSGI applications, waitress's successor.

The Python API is waitress's: ``serve(app, **kw)`` serves a WSGI application until the
process is interrupted, ``serve_paste`` is the PasteDeploy server runner, and
``waitron.server.create_server`` builds a server without running it. Every keyword
argument is one of waitress's adjustments (``host``, ``port``, ``listen``, ``threads``,
``unix_socket``, ``trusted_proxy`` ...), as a Python value or a string. Switching from
waitress means changing ``from waitress import serve`` into ``from waitron import
serve``, or ``waitress-serve`` into ``waitron-serve``.

HTTP parsing, the event loop (libuv) and the application threads are C++
(``waitron._waitron``); importing this package starts no thread.
"""

import logging

from ._waitron import ClientDisconnected
from .server import create_server

__version__ = "0.1.0"

__all__ = ["serve", "serve_paste", "create_server", "profile", "ClientDisconnected", "__version__"]


def serve(app, **kw):
    """Serve the WSGI ``app`` with waitress's keyword arguments until the server closes.

    Unless the test-only ``_quiet`` is true, this calls ``logging.basicConfig()`` and logs
    "Serving on http://host:port" for each listening socket at INFO on the "waitron"
    logger. SIGINT and SIGTERM (on the main thread) close the server gracefully, and
    serve() returns None. Test-only keywords: ``_server`` (the factory, default
    create_server), ``_quiet`` and ``_profile`` (run the loop under the profiler and
    print the statistics when it ends).
    """
    _server = kw.pop("_server", create_server)
    _quiet = kw.pop("_quiet", False)
    _profile = kw.pop("_profile", False)
    if not _quiet:
        # Idempotent when the application has set up logging already.
        logging.basicConfig()
    server = _server(app, **kw)
    if not _quiet:
        server.print_listen("Serving on http://{}:{}")
    if _profile:
        profile("server.run()", globals(), locals(), (), False)
    else:
        server.run()


def serve_paste(app, global_conf, **kw):
    """PasteDeploy's server runner (``use = egg:waitron``): serve, then return 0.

    The ``[server:main]`` settings arrive as strings and are converted like any other.
    """
    serve(app, **kw)
    return 0


def profile(cmd, globals, locals, sort_order, callers):
    """Run ``cmd`` under cProfile and print the statistics (30% of the lines).

    ``sort_order`` defaults to cumulative time, call count, internal time; ``callers``
    prints each function's callers instead of the plain table.
    """
    import cProfile
    import os
    import pstats
    import tempfile

    fd, path = tempfile.mkstemp()
    os.close(fd)
    try:
        cProfile.runctx(cmd, globals, locals, path)
        stats = pstats.Stats(path)
        stats.strip_dirs()
        stats.sort_stats(*(sort_order or ("cumulative", "calls", "time")))
        if callers:
            stats.print_callers(0.3)
        else:
            stats.print_stats(0.3)
    finally:
        os.remove(path)
