"""The proxy-header middleware: trusted Forwarded and X-Forwarded-* headers, applied.

Behind a reverse proxy, the peer of every connection is the proxy, and the client's
address, the scheme and the host it asked for travel in headers the proxy adds. This
WSGI middleware, which every waitron server wraps around its application (as waitress
does), reads those headers when the peer is the trusted proxy and rewrites the environ
from them: REMOTE_ADDR, REMOTE_PORT, REMOTE_HOST, SERVER_NAME, SERVER_PORT, HTTP_HOST and
``wsgi.url_scheme``. Multi-valued headers are cut down to the entries the trusted proxies
added (the right-most ``trusted_proxy_count``), so the application never sees values a
client made up. Headers that are not trusted are removed from the environ (unless
clearing is turned off), and a malformed trusted header is answered with 400 Bad Request
without calling the application.
"""

import collections
import logging

from .utilities import BadRequest, undquote

# The six proxy headers, as their environ keys lack the "HTTP_" prefix.
PROXY_HEADERS = frozenset(
    {
        "X_FORWARDED_FOR",
        "X_FORWARDED_HOST",
        "X_FORWARDED_PROTO",
        "X_FORWARDED_PORT",
        "X_FORWARDED_BY",
        "FORWARDED",
    }
)

# One element of a Forwarded header (RFC 7239), its parameters un-quoted.
Forwarded = collections.namedtuple("Forwarded", ["by", "for_", "host", "proto"])

_default_logger = logging.getLogger("waitron")


class MalformedProxyHeader(Exception):
    """A trusted proxy header could not be parsed; the request gets a 400."""

    def __init__(self, header, reason, value):
        self.header = header
        self.reason = reason
        self.value = value
        super().__init__(header, reason, value)


def proxy_headers_middleware(
    app,
    trusted_proxy=None,
    trusted_proxy_count=1,
    trusted_proxy_headers=None,
    clear_untrusted=True,
    log_untrusted=False,
    logger=_default_logger,
):
    """Wrap the WSGI ``app`` so that it sees proxy headers only from a trusted proxy.

    ``trusted_proxy`` is the REMOTE_ADDR of the proxy ("*" trusts every peer; None trusts
    none), ``trusted_proxy_count`` how many right-most hops of a multi-valued header to
    trust, and ``trusted_proxy_headers`` the lower-case names of the headers to honour.
    With ``clear_untrusted`` the other proxy headers are deleted from the environ, and
    with ``log_untrusted`` as well, each deletion is logged as a warning on ``logger``.
    """

    # With no trusted proxy and no logging, every request only loses the six headers: the
    # usual deployment takes this path, with no sorting or string building per request.
    untrusted_keys = tuple("HTTP_" + name for name in sorted(PROXY_HEADERS))
    only_clear = trusted_proxy is None and clear_untrusted and not log_untrusted

    def translate_proxy_headers(environ, start_response):
        if only_clear:
            for key in untrusted_keys:
                if key in environ:
                    del environ[key]
            return app(environ, start_response)
        untrusted = PROXY_HEADERS
        peer = environ["REMOTE_ADDR"]
        if trusted_proxy == "*" or peer == trusted_proxy:
            try:
                untrusted = parse_proxy_headers(
                    environ,
                    trusted_proxy_count=trusted_proxy_count,
                    trusted_proxy_headers=trusted_proxy_headers,
                    logger=logger,
                )
            except MalformedProxyHeader as exc:
                logger.warning(
                    'Malformed proxy header "%s" from "%s": %s value: %s',
                    exc.header,
                    peer,
                    exc.reason,
                    exc.value,
                )
                error = BadRequest('Header "{}" malformed.'.format(exc.header))
                return error.wsgi_response(environ, start_response)
        if clear_untrusted:
            clear_untrusted_headers(
                environ, untrusted, log_warning=log_untrusted, logger=logger
            )
        return app(environ, start_response)

    return translate_proxy_headers


def _split_list(header, value, count):
    """Split a comma-separated proxy header and keep its right-most ``count`` entries.

    Returns ``(raw, values)``: the kept entries as they were sent (whitespace trimmed),
    and the same entries un-quoted. A bad quoted-string raises MalformedProxyHeader.
    """
    raw = [entry.strip() for entry in value.split(",")]
    try:
        # Every entry must be well-formed, the untrusted ones too (as in waitress).
        values = [undquote(entry) for entry in raw]
    except ValueError as exc:
        raise MalformedProxyHeader(header, str(exc), value)
    return raw[-count:], values[-count:]


def _single_value(header, value):
    """Un-quote a proxy header that must carry one value (X-Forwarded-Proto and -Port)."""
    try:
        result = undquote(value)
    except ValueError as exc:
        raise MalformedProxyHeader(header, str(exc), value)
    if "," in result:
        raise MalformedProxyHeader(
            header, "Unspecified behavior for multiple values found in header", value
        )
    return result


def _bracket_bare_ipv6(hop):
    """Put brackets around an X-Forwarded-For hop that is an IPv6 address without them."""
    if "." not in hop and ":" in hop and not hop.endswith("]"):
        return "[{}]".format(hop)
    return hop


def _parse_forwarded_element(element, logger):
    """Parse one comma-separated element of a Forwarded header into a Forwarded tuple.

    Pairs are separated by ';' and lower-cased whole (values too, as waitress does);
    empty pairs are skipped; a pair without '=' or with whitespace around its token or
    value raises ValueError; unknown tokens are logged and ignored.
    """
    fields = {"by": "", "for": "", "host": "", "proto": ""}
    for pair in element.split(";"):
        pair = pair.lower()
        if not pair:
            continue
        token, equals, value = pair.partition("=")
        if not equals:
            raise ValueError('Invalid forwarded-pair missing "="')
        if token.strip() != token:
            raise ValueError("Token may not be surrounded by whitespace")
        if value.strip() != value:
            raise ValueError("Value may not be surrounded by whitespace")
        if token in fields:
            fields[token] = undquote(value)
        else:
            logger.warning("Unknown Forwarded token: %s", token)
    return Forwarded(fields["by"], fields["for"], fields["host"], fields["proto"])


def _parse_forwarded(environ, count, logger):
    """Apply a trusted Forwarded header: returns ``(client, host, proto)``.

    HTTP_FORWARDED is rewritten to its right-most ``count`` elements; within them, each
    of for, host and proto is taken from the oldest element that has it (the one nearest
    the client), as intermediate proxies may have rewritten the later ones.
    """
    value = environ["HTTP_FORWARDED"]
    raw = [element.strip() for element in value.split(",")]
    try:
        proxies = [_parse_forwarded_element(element, logger) for element in raw]
    except ValueError as exc:
        raise MalformedProxyHeader("Forwarded", str(exc), value)
    environ["HTTP_FORWARDED"] = ", ".join(raw[-count:])
    client = host = proto = ""
    for proxy in reversed(proxies[-count:]):
        client = proxy.for_ or client
        host = proxy.host or host
        proto = proxy.proto or proto
    return client, host, proto


def _strip_brackets(address):
    if address.startswith("[") and address.endswith("]"):
        return address[1:-1]
    return address


def _apply_host(environ, host, port):
    """Set SERVER_NAME and HTTP_HOST from a forwarded host; returns the port in effect.

    A port inside the host ("example.com:8080") wins over any other. Otherwise HTTP_HOST
    gets ":port" unless the port is the default of the (possibly forwarded) scheme.
    """
    if ":" in host and not host.endswith("]"):
        name, host_port = host.rsplit(":", 1)
        environ["SERVER_NAME"] = name.strip()
        environ["HTTP_HOST"] = host
        return host_port
    environ["SERVER_NAME"] = host
    environ["HTTP_HOST"] = host
    if port:
        default = {"http": "80", "https": "443"}.get(environ["wsgi.url_scheme"])
        if port != default:
            environ["HTTP_HOST"] = "{}:{}".format(host, port)
    return port


def _apply_client(environ, client):
    """Set REMOTE_ADDR, REMOTE_PORT and REMOTE_HOST from a forwarded client address."""
    if ":" in client and not client.endswith("]"):
        address, port = client.rsplit(":", 1)
        environ["REMOTE_ADDR"] = _strip_brackets(address.strip())
        environ["REMOTE_PORT"] = port.strip()
    else:
        environ["REMOTE_ADDR"] = _strip_brackets(client.strip())
    environ["REMOTE_HOST"] = environ["REMOTE_ADDR"]


def parse_proxy_headers(
    environ, trusted_proxy_count, trusted_proxy_headers, logger=_default_logger
):
    """Rewrite ``environ`` from the trusted proxy headers; return the untrusted ones.

    The result is the set of PROXY_HEADERS names (without "HTTP_") that were not
    trusted, for clear_untrusted_headers(). Raises MalformedProxyHeader when a trusted
    header cannot be parsed.
    """
    trusted = trusted_proxy_headers or set()
    # As in waitress, a count of 0 keeps every entry ([-0:] is the whole list).
    count = 1 if trusted_proxy_count is None else trusted_proxy_count
    untrusted = set(PROXY_HEADERS)
    client = host = proto = port = ""

    if "x-forwarded-for" in trusted and "HTTP_X_FORWARDED_FOR" in environ:
        raw, hops = _split_list("X-Forwarded-For", environ["HTTP_X_FORWARDED_FOR"], count)
        environ["HTTP_X_FORWARDED_FOR"] = ", ".join(raw)
        client = _bracket_bare_ipv6(hops[0])
        untrusted.discard("X_FORWARDED_FOR")

    if "x-forwarded-host" in trusted and "HTTP_X_FORWARDED_HOST" in environ:
        raw, hosts = _split_list("X-Forwarded-Host", environ["HTTP_X_FORWARDED_HOST"], count)
        environ["HTTP_X_FORWARDED_HOST"] = ", ".join(raw)
        host = hosts[0]
        untrusted.discard("X_FORWARDED_HOST")

    if "x-forwarded-proto" in trusted:
        proto = _single_value("X-Forwarded-Proto", environ.get("HTTP_X_FORWARDED_PROTO", ""))
        untrusted.discard("X_FORWARDED_PROTO")

    if "x-forwarded-port" in trusted:
        port = _single_value("X-Forwarded-Port", environ.get("HTTP_X_FORWARDED_PORT", ""))
        untrusted.discard("X_FORWARDED_PORT")

    if "x-forwarded-by" in trusted:
        # Not used by the server, but a trusted one is left for the application.
        untrusted.discard("X_FORWARDED_BY")

    forwarded = False
    if "forwarded" in trusted:
        # Forwarded excludes the X-Forwarded-* set (the configuration enforces it).
        untrusted = set(PROXY_HEADERS - {"FORWARDED"})
        if environ.get("HTTP_FORWARDED"):
            forwarded = True
            client, host, proto = _parse_forwarded(environ, count, logger)

    if proto:
        proto = proto.lower()
        if proto not in ("http", "https"):
            raise MalformedProxyHeader(
                "Forwarded Proto=" if forwarded else "X-Forwarded-Proto",
                "unsupported proto value",
                proto,
            )
        environ["wsgi.url_scheme"] = proto
        if not port:
            port = "80" if proto == "http" else "443"

    if host:
        port = _apply_host(environ, host, port)

    if port:
        environ["SERVER_PORT"] = str(port)

    if client:
        _apply_client(environ, client)

    return untrusted


def clear_untrusted_headers(environ, untrusted_headers, log_warning=False, logger=_default_logger):
    """Delete the untrusted proxy headers from ``environ``; optionally log the deletion."""
    removed = [
        name for name in sorted(untrusted_headers) if environ.pop("HTTP_" + name, None) is not None
    ]
    if log_warning and removed:
        names = ["-".join(part.capitalize() for part in name.split("_")) for name in removed]
        logger.warning(
            "Removed untrusted headers (%s). Waitron recommends these be removed upstream.",
            ", ".join(names),
        )


def strip_brackets(addr):
    """Return ``addr`` without the brackets around an IPv6 address, if it has them."""
    return _strip_brackets(addr)
