"""Adjustments: waitron's tunable parameters, with waitress's names and rules.

The option table, the converters and the validation rules live in C++ (the same code
serves the command line, JSON files and C++ embedders); ``Adjustments(**kw)`` hands the
keyword arguments to ``_waitron.make_adjustments`` and exposes every converted value as
an attribute named as in waitress. On top of that, this module resolves ``listen`` into
``(family, socktype, proto, sockaddr)`` tuples with ``getaddrinfo``, as waitress's
``Adjustments`` does, and turns the conversion's warnings into DeprecationWarning (where
waitress raises one) or log lines.

The converter functions (``asbool``, ``aslist`` ...) are kept for code written against
waitress; they are plain Python with waitress's semantics and are not used to convert
options.
"""

import getopt
import logging
import socket
import warnings

from . import _waitron
from .compat import HAS_IPV6
from .proxy_headers import PROXY_HEADERS

logger = logging.getLogger("waitron")

truthy = frozenset(("t", "true", "y", "yes", "on", "1"))

KNOWN_PROXY_HEADERS = frozenset(header.lower().replace("_", "-") for header in PROXY_HEADERS)


class AppResolutionError(ValueError):
    """The command line names no application, several, or one that cannot be imported."""


def asbool(s):
    """Return True for "t", "true", "y", "yes", "on" and "1" (any case), else False.

    None is False; a bool is returned as it is; anything else goes through ``str()``.
    """
    if s is None:
        return False
    if isinstance(s, bool):
        return s
    return str(s).strip().lower() in truthy


def asoctal(s):
    """Convert an octal string such as "600" or "0o600" to an int.

    Unlike waitress (where ``int(s, 8)`` raises TypeError for an int), an int is taken
    as the mode itself, as waitron's option converter does: ``asoctal(0o600) == 0o600``.
    """
    if isinstance(s, int) and not isinstance(s, bool):
        return s
    return int(s, 8)


def aslist_cronly(value):
    """Split a string into its non-blank lines (stripped); list any other iterable."""
    if isinstance(value, str):
        return [line.strip() for line in value.splitlines() if line.strip()]
    return list(value)


def aslist(value):
    """Split a string on newlines and whitespace into a list of words.

    A non-string iterable is listed and each of its items split on whitespace.
    """
    result = []
    for item in aslist_cronly(value):
        result.extend(item.split())
    return result


def asset(value):
    """``aslist`` as a set."""
    return set(aslist(value))


def slash_fixed_str(s):
    """Strip ``s``; a non-empty result gets exactly one leading slash and no trailing one."""
    s = s.strip()
    if s:
        s = "/" + s.strip("/")
    return s


def str_iftruthy(s):
    """``str(s)`` for a truthy value, None for a falsy one."""
    return str(s) if s else None


def as_socket_list(sockets):
    """Keep the items of ``sockets`` that are ``socket.socket`` objects, drop the rest."""
    return [sock for sock in sockets if isinstance(sock, socket.socket)]


def _is_descriptor(item):
    return isinstance(item, int) and not isinstance(item, bool)


def _prebound(value):
    """The items of a ``sockets`` value that name listening sockets: socket objects and,
    as in a JSON configuration file, plain file descriptors. Other items are dropped, as
    waitress drops them."""
    return [item for item in value if isinstance(item, socket.socket) or _is_descriptor(item)]


def _option_pairs(kw):
    """Turn keyword arguments into the ``(name, value)`` list the extension takes.

    The one change: pre-bound ``sockets`` become file descriptors. A string stays a
    string, which the converter turns into an empty list, as waitress's does.
    """
    pairs = []
    for name, value in kw.items():
        if name == "sockets" and not isinstance(value, str):
            try:
                value = [
                    item if _is_descriptor(item) else item.fileno() for item in _prebound(value)
                ]
            except TypeError:
                pass  # not iterable: let the converter report it
        pairs.append((name, value))
    return pairs


def _is_deprecation(message):
    """Whether a conversion warning is one that waitress raises as DeprecationWarning."""
    return message.startswith("send_bytes") or "Implicitly trusting X-Forwarded-Proto" in message


def _emit(messages):
    for message in messages:
        if _is_deprecation(message):
            warnings.warn(message, DeprecationWarning, stacklevel=3)
        else:
            logger.warning("%s", message)


def _family_filter(ipv4, ipv6):
    """The address family getaddrinfo is limited to, by waitress's rules."""
    if ipv4 and not ipv6:
        return socket.AF_INET
    if ipv6 and not ipv4 and HAS_IPV6:
        return socket.AF_INET6
    return socket.AF_UNSPEC


def _split_listen_entry(entry, default_port):
    """Split "host:port", "[v6]:port", "[v6]" or "host" into ``(host, port)`` strings."""
    if ":" in entry:
        host, port = entry.rsplit(":", 1)
        if "]" in port:
            # The colon was inside a bracketed IPv6 address that has no port.
            host, port = entry, str(default_port)
    else:
        host, port = entry, str(default_port)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, port


def resolve_listen(listen, port=8080, ipv4=True, ipv6=True):
    """Resolve ``listen`` entries into the sockets to bind, as waitress does.

    Returns a list of ``(family, socktype, proto, sockaddr)``. "*" is the wildcard
    address of every enabled family; a port may be a service name. A result repeating
    an earlier (host without its zone, port) pair is dropped, unless the port is 0.
    Raises ValueError("Invalid host/port specified.") when an entry does not resolve.
    """
    family = _family_filter(ipv4, ipv6)
    wanted = []
    seen = set()
    for entry in listen:
        host, service = _split_listen_entry(entry, port)
        try:
            infos = socket.getaddrinfo(
                None if host == "*" else host,
                service,
                family,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                socket.AI_PASSIVE,
            )
        except (OSError, UnicodeError, ValueError):
            raise ValueError("Invalid host/port specified.") from None
        for info_family, socktype, proto, _, sockaddr in infos:
            key = (sockaddr[0].split("%", 1)[0], sockaddr[1])
            if sockaddr[1] == 0 or key not in seen:
                wanted.append((info_family, socktype, proto, sockaddr))
                seen.add(key)
    return wanted


class Adjustments:
    """Every tunable parameter of a waitron server, as attributes named as in waitress.

    ``Adjustments(**kw)`` accepts waitress's keyword arguments, as Python values or as
    strings (``threads="8"``, ``ipv6="false"``), converts and checks them (raising
    ValueError with waitress's messages), and resolves ``listen``. After construction:
    ``listen`` holds ``(family, socktype, proto, sockaddr)`` tuples, ``sockets`` the
    socket objects (or descriptors) that were passed, ``trusted_proxy_count`` is 1 when
    it was not set, and ``ident`` is None when the Server header is turned off.
    """

    # Set on every accepted TCP connection by the C++ server (informational here).
    socket_options = [(socket.SOL_TCP, socket.TCP_NODELAY, 1)]

    def __init__(self, **kw):
        options = _option_pairs(kw)
        values, messages = _waitron.make_adjustments(options)
        # What the server is built from: the caller's options, not the converted values.
        self._options = options
        for name, value in values.items():
            setattr(self, name, value)
        given = kw.get("sockets", [])
        self.sockets = [] if isinstance(given, str) else _prebound(given)
        if getattr(self, "trusted_proxy_count", None) is None:
            self.trusted_proxy_count = 1
        if getattr(self, "trusted_proxy_headers", None) is None:
            self.trusted_proxy_headers = set()
        else:
            self.trusted_proxy_headers = set(self.trusted_proxy_headers)
        _emit(messages)
        self.listen = resolve_listen(
            values.get("listen", []), port=self.port, ipv4=self.ipv4, ipv6=self.ipv6
        )

    @classmethod
    def parse_args(cls, argv):
        """Parse waitress-serve's command-line arguments into ``(kw, args)``.

        ``kw`` maps "help" and "call" to booleans, then each given option to its string
        value ("--listen" values accumulate, "--no-x" gives "false"); "app" and "config"
        appear when --app or --config was given. ``args`` are the positional arguments.
        Nothing is converted here. A usage error raises getopt.GetoptError.
        """
        try:
            parsed = _waitron.parse_cli(list(argv))
        except ValueError as exc:
            raise getopt.GetoptError(str(exc)) from None
        kw = {"help": bool(parsed["help"]), "call": bool(parsed["call"])}
        for name, value in parsed["values"]:
            kw[name] = value
        for extra in ("app", "config"):
            if parsed.get(extra) is not None:
                kw[extra] = parsed[extra]
        return kw, list(parsed["positional"])
