"""Server objects with waitress's classes and signatures over waitron's C++ server.

``create_server(app, **kw)`` builds one ``_waitron.Server``: one event loop, one pool of
application threads and every listening socket the options ask for, all bound and
listening before it returns. The classes here are thin Python views of that server:
``TcpWSGIServer`` and ``UnixWSGIServer`` stand for one listening socket each, and
``MultiSocketServer`` for several; ``run()`` on any of them runs the shared loop and
``close()`` closes the whole server.

As in waitress, ``TcpWSGIServer(app, **kw)`` and ``UnixWSGIServer(app, **kw)`` may also
be constructed directly (test suites and WebTest do): each then owns a server of its own
with exactly one listening socket. Either way the proxy headers are applied by the C++
server (the ``application`` attribute is the application wrapped in the proxy-header
middleware, as waitress's is), and ``server.socket`` is a ``socket.socket``
over a duplicate of the listening descriptor, for ``getsockname()`` and the like.
"""

import logging
import os
import socket
import threading

from . import _waitron
from .adjustments import Adjustments
from .proxy_headers import proxy_headers_middleware

logger = logging.getLogger("waitron")

_LOG_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def _wrap_application(application, adj):
    """Wrap ``application`` in the proxy-header middleware, when ``adj`` asks for it.

    With the defaults it always does: clear_untrusted_proxy_headers is True. The result is
    the servers' ``application`` attribute, as in waitress; the C++ server itself serves the
    application unwrapped and applies the same rules (src/pipeline/proxy_headers, checked
    against this middleware by tests/python/test_proxy_headers_native.py) without a Python
    call per request.
    """
    if adj.trusted_proxy or adj.clear_untrusted_proxy_headers:
        return proxy_headers_middleware(
            application,
            trusted_proxy=adj.trusted_proxy,
            trusted_proxy_count=adj.trusted_proxy_count,
            trusted_proxy_headers=adj.trusted_proxy_headers,
            clear_untrusted=adj.clear_untrusted_proxy_headers,
            log_untrusted=adj.log_untrusted_proxy_headers,
            logger=logger,
        )
    return application


def _bracket(host):
    """Bracket an IPv6 address for a URL."""
    return "[{}]".format(host) if ":" in host else host


class _Core:
    """One ``_waitron.Server`` and the Python sockets around its descriptors.

    The C++ server owns every listening descriptor it is given and closes it. So a
    pre-bound socket object (the ``sockets`` option) is handed over as a duplicate, and
    the object itself stays Python's; it is closed with the server, as waitress closes
    the sockets it serves. Each ``server.socket`` is a duplicate of a listening
    descriptor; since a duplicate keeps the socket listening in the kernel, all of them
    are closed as soon as the server is: after close(), and when run() returns (the loop
    only returns once the server is closed).
    """

    def __init__(self, application, adj, options):
        self.sockets = []
        self.borrowed = []
        given = [item for item in adj.sockets if isinstance(item, socket.socket)]
        if given and any(name == "sockets" for name, _ in options):
            fds = [os.dup(item.fileno()) if isinstance(item, socket.socket) else item
                   for item in adj.sockets]
            options = [(name, fds if name == "sockets" else value) for name, value in options]
            try:
                self.server = _waitron.Server(application, options, proxy_headers="server")
            except ValueError:
                # Refused before any descriptor was adopted: the duplicates are ours.
                for fd, item in zip(fds, adj.sockets):
                    if isinstance(item, socket.socket):
                        os.close(fd)
                raise
            self.borrowed = given
        else:
            self.server = _waitron.Server(application, options, proxy_headers="server")

    def socket_for(self, fd):
        sock = socket.socket(fileno=os.dup(fd))
        self.sockets.append(sock)
        return sock

    def run(self):
        handle_signals = threading.current_thread() is threading.main_thread()
        try:
            self.server.run(handle_signals=handle_signals)
        except (KeyboardInterrupt, SystemExit):
            # waitress's run() ends quietly on Ctrl-C; so does this one, after a clean close.
            self.server.close()
        self.close_sockets(borrowed=True)

    def close(self):
        self.server.close()
        self.close_sockets(borrowed=True)

    def stats(self):
        return self.server.stats()

    def reopen_access_log(self):
        self.server.reopen_access_log()

    def close_sockets(self, borrowed=False):
        while self.sockets:
            self.sockets.pop().close()
        while borrowed and self.borrowed:
            self.borrowed.pop().close()

    def __del__(self):
        # A server dropped without close(): its duplicates go quietly with it (the C++
        # server closes itself when it is deallocated); the caller's sockets stay open.
        self.close_sockets()


def create_server(
    application,
    map=None,
    _start=True,  # waitress test shim, accepted and ignored
    _sock=None,  # waitress test shim, accepted and ignored
    _dispatcher=None,  # waitress test shim, accepted and ignored
    **kw
):
    """Create a server for the WSGI ``application``; it listens when this returns.

    Keyword arguments are waitress's adjustments (see ``waitron.adjustments``). Returns a
    ``UnixWSGIServer`` for ``unix_socket``, a ``TcpWSGIServer`` when the options give one
    listening socket, and a ``MultiSocketServer`` when they give several. Call ``run()``
    on the result to serve; ``close()`` stops it. Raises ValueError for bad options and
    OSError when a socket cannot be bound.
    """
    if application is None:
        raise ValueError(
            'The "app" passed to ``create_server`` was ``None``.  You forgot '
            "to return a WSGI app within your application."
        )
    adj = Adjustments(**kw)
    wrapped = _wrap_application(application, adj)
    core = _Core(application, adj, adj._options)
    servers = []
    for address in core.server.addresses():
        cls = UnixWSGIServer if address[0] == "unix" else TcpWSGIServer
        servers.append(cls(application, adj=adj, _core=core, _address=address, _wrapped=wrapped))
    if len(servers) == 1:
        return servers[0]
    effective_listen = [(s.effective_host, s.effective_port) for s in servers]
    return MultiSocketServer(map, adj, effective_listen, None, _log_info, _core=core)


def _log_info(message, type="info"):
    logger.log(_LOG_LEVELS.get(type, logging.INFO), message)


class _ServerControl:
    """What every server object does with the server it belongs to (``self._core``)."""

    def run(self):
        """Serve until the server is closed (close(), SIGINT or SIGTERM), then return.

        On the main thread SIGINT and SIGTERM close the server gracefully: requests in
        flight finish (within ``shutdown_timeout``, 5 s by default) and run() returns
        normally. With an ``access_log``,
        SIGUSR1 reopens it (log rotation).
        """
        self._core.run()

    def close(self):
        """Close the server: stop accepting, finish requests in flight, close everything.

        Any thread may call it, more than once. It closes the whole server this object
        belongs to, every listening socket of it included.
        """
        self._core.close()

    def stats(self):
        """The server's live counters as a dict of ints; any thread may call it, also while
        run() serves on another:

        ``connections_open``, ``requests_in_flight`` (handed to the application and not
        answered yet), ``queue_depth`` (waiting for an application thread) and
        ``busy_threads`` tell how things are now; ``connections_accepted``,
        ``requests_served``, ``bytes_received``, ``bytes_sent`` (every byte read from and
        written to clients), ``access_log_lines`` and ``access_log_dropped`` count since
        the server started. The counters are the whole server's, shared by every socket
        of it.
        """
        return self._core.stats()

    def reopen_access_log(self):
        """Reopen the ``access_log`` file at its path (log rotation); any thread. run()
        does it on SIGUSR1 when it handles signals. Nothing happens without an access log.
        """
        self._core.reopen_access_log()


class MultiSocketServer(_ServerControl):
    """Several listening sockets served by one loop: what create_server returns for them.

    ``effective_listen`` lists ``(host, port)`` for each socket, port as a string. As in
    waitress, it has no ``socket`` and no ``getsockname()``.
    """

    def __init__(
        self,
        map=None,
        adj=None,
        effective_listen=None,
        dispatcher=None,
        log_info=None,
        _core=None,
    ):
        self.adj = adj
        self.map = map
        self.effective_listen = effective_listen or []
        self.task_dispatcher = dispatcher
        self.log_info = log_info or _log_info
        self._core = _core

    def print_listen(self, format_str):
        """Log ``format_str.format(host, port)`` for every socket, IPv6 hosts bracketed."""
        for host, port in self.effective_listen:
            self.log_info(format_str.format(_bracket(host), port))


class BaseWSGIServer(_ServerControl):
    """One listening socket of a waitron server, with waitress's attributes.

    Attributes: ``socket`` (a ``socket.socket`` over a duplicate of the listening
    descriptor), ``adj``, ``application`` (wrapped in the proxy-header middleware),
    ``effective_host`` and ``effective_port`` (numeric strings; for a Unix socket "unix"
    and its path), ``server_name``, ``sockinfo``, ``family`` and ``socktype``.

    Constructed directly with adjustment keywords, it creates and owns a server of its
    own (bound and listening on return); create_server() passes the shared one instead.
    waitress's shims ``map``, ``_start``, ``_sock``, ``dispatcher`` and ``bind_socket``
    are accepted and ignored: there is no asyncore map or Python dispatcher to replace.
    """

    logger = logger
    accepting = True
    in_connection_overflow = False
    socktype = socket.SOCK_STREAM

    def __init__(
        self,
        application,
        map=None,
        _start=True,
        _sock=None,
        dispatcher=None,
        adj=None,
        sockinfo=None,
        bind_socket=True,
        _core=None,
        _address=None,
        _wrapped=None,
        **kw
    ):
        if adj is None:
            adj = Adjustments(**kw)
        self.adj = adj
        if _core is None:
            _wrapped = _wrap_application(application, adj)
            _core = _Core(application, adj, self._own_options(adj, sockinfo))
            _address = _core.server.addresses()[0]
        self.application = _wrapped
        self._core = _core
        self.socket = _core.socket_for(_address[2])
        self.family = self.socket.family
        self.effective_host, self.effective_port = self._address_of(_address)
        self.sockinfo = self._sockinfo(sockinfo)
        self.server_name = adj.server_name
        self.task_dispatcher = dispatcher

    def _own_options(self, adj, sockinfo):
        """The options of a server owned by this object alone (overridden per class)."""
        return list(adj._options)

    def _address_of(self, address):
        raise NotImplementedError

    def _sockinfo(self, sockinfo):
        raise NotImplementedError

    def getsockname(self):
        """``(host, port)`` as numeric strings; for a Unix socket ``("unix", path)``."""
        return self.effective_host, self.effective_port

    def log_info(self, message, type="info"):
        self.logger.log(_LOG_LEVELS.get(type, logging.INFO), message)

    def print_listen(self, format_str):
        """Log ``format_str.format(host, port)``; an IPv6 host is bracketed.

        (waitress leaves a single IPv6 host bare, which makes an unusable URL.)
        """
        self.log_info(format_str.format(_bracket(self.effective_host), self.effective_port))


class TcpWSGIServer(BaseWSGIServer):
    """A TCP listening socket. Constructed directly, it binds the first address of
    ``listen`` (or of ``host`` and ``port``) only, as waitress's does."""

    def _own_options(self, adj, sockinfo):
        if sockinfo is None:
            if not adj.listen:
                raise ValueError("Invalid host/port specified.")
            sockinfo = adj.listen[0]
        family, _, _, sockaddr = sockinfo
        host, port = sockaddr[0], sockaddr[1]
        if family == socket.AF_INET6:
            host = "[{}]".format(host)
        dropped = ("host", "port", "listen", "unix_socket", "sockets")
        options = [(name, value) for name, value in adj._options if name not in dropped]
        options.append(("listen", "{}:{}".format(host, port)))
        return options

    def _address_of(self, address):
        try:
            host, port = socket.getnameinfo(
                self.socket.getsockname(), socket.NI_NUMERICHOST | socket.NI_NUMERICSERV
            )
        except OSError:
            host, port = address[0], address[1]
        return host, str(port)

    def _sockinfo(self, sockinfo):
        if sockinfo is not None:
            return sockinfo
        return (self.family, socket.SOCK_STREAM, socket.IPPROTO_TCP, self.socket.getsockname())


class UnixWSGIServer(BaseWSGIServer):
    """A Unix socket listening at ``unix_socket``; peers appear as REMOTE_ADDR
    "localhost"."""

    def __init__(
        self,
        application,
        map=None,
        _start=True,
        _sock=None,
        dispatcher=None,
        adj=None,
        sockinfo=None,
        **kw
    ):
        super().__init__(
            application,
            map=map,
            _start=_start,
            _sock=_sock,
            dispatcher=dispatcher,
            adj=adj,
            sockinfo=sockinfo,
            **kw
        )

    def _own_options(self, adj, sockinfo):
        if not adj.unix_socket:
            raise ValueError("UnixWSGIServer needs the unix_socket option")
        return list(adj._options)

    def _address_of(self, address):
        return "unix", address[1]

    def _sockinfo(self, sockinfo):
        if sockinfo is not None:
            return sockinfo
        return (socket.AF_UNIX, socket.SOCK_STREAM, None, None)

    def getsockname(self):
        return "unix", self.effective_port


# waitress's name for the TCP server, kept for compatibility.
WSGIServer = TcpWSGIServer
