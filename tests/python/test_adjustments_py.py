"""Tests of waitron.adjustments: keyword conversion and checks, the converter helpers,
and Adjustments.parse_args (waitress's TestAdjustments, TestCLI and converter cases).

Option conversion runs in the C++ extension; these tests go through the Python class.
"""

import getopt
import logging
import socket
import warnings

import pytest

from waitron import _waitron
from waitron import adjustments
from waitron.adjustments import (
    Adjustments,
    as_socket_list,
    asbool,
    aslist,
    asoctal,
    asset,
    slash_fixed_str,
    str_iftruthy,
)

needs_extension = pytest.mark.skipif(
    not hasattr(_waitron, "make_adjustments"), reason="the _waitron extension is not built yet"
)


def has_ipv6():
    if not socket.has_ipv6:
        return False
    try:
        socket.getaddrinfo("::1", 0, socket.AF_UNSPEC, socket.SOCK_STREAM, socket.IPPROTO_TCP,
                           socket.AI_PASSIVE | socket.AI_ADDRCONFIG)
    except socket.gaierror:
        return False
    return True


@pytest.fixture
def stream_sockets():
    """Unbound stream sockets, closed after the test."""
    made = []

    def make(family=socket.AF_INET, kind=socket.SOCK_STREAM):
        sock = socket.socket(family, kind)
        made.append(sock)
        return sock

    yield make
    for sock in made:
        sock.close()


def bind_pairs(adj):
    return [sockaddr[:2] for (_, _, _, sockaddr) in adj.listen]


# ---- converters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, False), (True, True), (False, False), ("True", True), ("False", False),
        ("yes", True), ("on", True), ("Y", True), (" t ", True), ("1", True), (1, True),
        (0, False), ("no", False), ("garbage", False), ("", False),
    ],
)
def test_asbool(value, expected):
    assert asbool(value) is expected


def test_aslist_splits_lines_and_words():
    assert aslist("a b\n\n  c\td  \n") == ["a", "b", "c", "d"]


def test_aslist_of_an_iterable_splits_each_item():
    assert aslist(["a b", "c"]) == ["a", "b", "c"]
    assert aslist(("x",)) == ["x"]


def test_asset():
    assert asset("X-Forwarded-For x-forwarded-for\nforwarded") == {
        "X-Forwarded-For", "x-forwarded-for", "forwarded"}


@pytest.mark.parametrize(
    "value, expected",
    [("///foo/", "/foo"), (" a/b/ ", "/a/b"), ("/", "/"), ("", ""), ("   ", ""), ("foo", "/foo")],
)
def test_slash_fixed_str(value, expected):
    assert slash_fixed_str(value) == expected


@pytest.mark.parametrize(
    "value, expected", [(None, None), ("", None), (0, None), ("abc", "abc"), (5, "5")]
)
def test_str_iftruthy(value, expected):
    assert str_iftruthy(value) == expected


def test_asoctal():
    assert asoctal("600") == 0o600
    assert asoctal("0o777") == 0o777
    # waitron takes an int as the mode itself (waitress raises TypeError).
    assert asoctal(0o600) == 0o600
    with pytest.raises(ValueError):
        asoctal("abc")


def test_as_socket_list_keeps_only_sockets(stream_sockets):
    socks = [stream_sockets(socket.AF_INET), stream_sockets(socket.AF_INET6),
             stream_sockets(socket.AF_UNIX)]
    assert as_socket_list(socks) == socks
    assert as_socket_list([socks[0], {"something": "else"}, 3, socks[1]]) == socks[:2]


# ---- Adjustments(**kw) ---------------------------------------------------------------------


@needs_extension
def test_goodvars():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        inst = Adjustments(
            host="localhost", port="8080", threads="5", trusted_proxy="192.168.1.1",
            trusted_proxy_headers={"forwarded"}, trusted_proxy_count=2,
            log_untrusted_proxy_headers=True, url_scheme="https", backlog="20",
            recv_bytes="200", send_bytes="300", outbuf_overflow="400", inbuf_overflow="500",
            connection_limit="1000", cleanup_interval="1100", channel_timeout="1200",
            log_socket_errors="true", max_request_header_size="1300",
            max_request_body_size="1400", expose_tracebacks="true", ident="abc",
            asyncore_loop_timeout="5", asyncore_use_poll=True, unix_socket_perms="777",
            url_prefix="///foo/", ipv4=True, ipv6=False,
        )
    assert inst.host == "localhost"
    assert inst.port == 8080
    assert inst.threads == 5
    assert inst.trusted_proxy == "192.168.1.1"
    assert inst.trusted_proxy_headers == {"forwarded"}
    assert inst.trusted_proxy_count == 2
    assert inst.log_untrusted_proxy_headers is True
    assert inst.url_scheme == "https"
    assert inst.backlog == 20
    assert inst.recv_bytes == 200
    assert inst.send_bytes == 300
    assert inst.outbuf_overflow == 400
    assert inst.inbuf_overflow == 500
    assert inst.connection_limit == 1000
    assert inst.cleanup_interval == 1100
    assert inst.channel_timeout == 1200
    assert inst.log_socket_errors is True
    assert inst.max_request_header_size == 1300
    assert inst.max_request_body_size == 1400
    assert inst.expose_tracebacks is True
    assert inst.asyncore_loop_timeout == 5
    assert inst.asyncore_use_poll is True
    assert inst.ident == "abc"
    assert inst.unix_socket_perms == 0o777
    assert inst.url_prefix == "/foo"
    assert inst.ipv4 is True
    assert inst.ipv6 is False
    inet = [sockaddr[:2] for (family, _, _, sockaddr) in inst.listen if family == socket.AF_INET]
    assert inet[0] == ("127.0.0.1", 8080)


@needs_extension
def test_defaults():
    inst = Adjustments()
    assert bind_pairs(inst) == [("0.0.0.0", 8080)]
    assert inst.listen[0][:3] == (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    assert inst.threads == 4
    assert inst.trusted_proxy is None
    assert inst.trusted_proxy_count == 1
    assert inst.trusted_proxy_headers == set()
    assert inst.clear_untrusted_proxy_headers is True
    assert inst.unix_socket is None
    assert inst.unix_socket_perms == 0o600
    assert inst.sockets == []
    assert inst.url_prefix == ""
    assert inst.server_name == "waitress.invalid"


@needs_extension
def test_goodvar_listen():
    assert bind_pairs(Adjustments(listen="127.0.0.1")) == [("127.0.0.1", 8080)]


@needs_extension
def test_multiple_listen():
    inst = Adjustments(listen="127.0.0.1:9090 127.0.0.1:8080")
    assert bind_pairs(inst) == [("127.0.0.1", 9090), ("127.0.0.1", 8080)]


@needs_extension
def test_listen_as_a_list():
    inst = Adjustments(listen=["127.0.0.1:9090", "127.0.0.1:8080 127.0.0.1:7070"])
    assert bind_pairs(inst) == [("127.0.0.1", 9090), ("127.0.0.1", 8080), ("127.0.0.1", 7070)]


@needs_extension
def test_duplicate_listen_entries_dropped_unless_port_zero():
    assert bind_pairs(Adjustments(listen="127.0.0.1:9090 127.0.0.1:9090")) == [("127.0.0.1", 9090)]
    assert bind_pairs(Adjustments(listen="127.0.0.1:0 127.0.0.1:0")) == [("127.0.0.1", 0)] * 2


@needs_extension
def test_wildcard_listen():
    assert len(Adjustments(listen="*:8080").listen) >= 1


@needs_extension
def test_ipv6_no_port():
    if not has_ipv6():
        pytest.skip("no IPv6")
    assert bind_pairs(Adjustments(listen="[::1]")) == [("::1", 8080)]


@needs_extension
def test_port_applies_to_listen_entries_without_one():
    assert bind_pairs(Adjustments(host="127.0.0.1", port=9000)) == [("127.0.0.1", 9000)]


@needs_extension
def test_bad_port():
    with pytest.raises(ValueError, match="Invalid host/port specified."):
        Adjustments(listen="127.0.0.1:test")


@needs_extension
def test_non_numeric_port_option():
    with pytest.raises(ValueError):
        Adjustments(port="http")


@needs_extension
def test_service_port():
    inst = Adjustments(listen="127.0.0.1:http 0.0.0.0:https")
    assert bind_pairs(inst) == [("127.0.0.1", 80), ("0.0.0.0", 443)]


@needs_extension
@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(host="localhost", port="8080", listen="127.0.0.1:8080"),
         "host or port may not be set if listen is set."),
        (dict(port=None, listen="127.0.0.1:8080"), "host or port may not be set if listen is set."),
        (dict(unix_socket="./tmp/test", host="localhost", port="8080"),
         "unix_socket may not be set if host or port is set"),
        (dict(unix_socket="./tmp/test", listen="127.0.0.1:8080"),
         "unix_socket may not be set if listen is set"),
    ],
)
def test_exclusive_options(kw, message):
    with pytest.raises(ValueError) as info:
        Adjustments(**kw)
    assert str(info.value) == message


@needs_extension
def test_good_sockets(stream_sockets):
    socks = [stream_sockets(socket.AF_INET6), stream_sockets(socket.AF_INET)]
    inst = Adjustments(sockets=socks)
    assert inst.sockets == socks


@needs_extension
def test_sockets_are_passed_as_descriptors(stream_sockets):
    sock = stream_sockets()
    inst = Adjustments(sockets=[sock, "not a socket"])
    assert inst._options == [("sockets", [sock.fileno()])]
    assert inst.sockets == [sock]


@needs_extension
def test_sockets_as_descriptors(stream_sockets):
    # A JSON configuration file gives descriptors; they pass through unchanged.
    sock = stream_sockets()
    inst = Adjustments(sockets=[sock.fileno(), True])
    assert inst._options == [("sockets", [sock.fileno()])]
    assert inst.sockets == [sock.fileno()]


@needs_extension
def test_dont_mix_sockets_and_listen(stream_sockets):
    with pytest.raises(ValueError, match="socket may not be set if listen is set."):
        Adjustments(listen="127.0.0.1:8080", sockets=[stream_sockets()])


@needs_extension
def test_dont_mix_sockets_and_host_port(stream_sockets):
    with pytest.raises(ValueError, match="host or port may not be set if sockets is set."):
        Adjustments(host="localhost", port="8080", sockets=[stream_sockets()])


@needs_extension
def test_dont_mix_sockets_and_unix_socket(stream_sockets):
    with pytest.raises(ValueError, match="unix_socket may not be set if sockets is set"):
        Adjustments(unix_socket="./tmp/test", sockets=[stream_sockets()])


@needs_extension
def test_dont_use_unsupported_socket_types(stream_sockets):
    with pytest.raises(ValueError, match="Only Internet or UNIX stream sockets may be used."):
        Adjustments(sockets=[stream_sockets(socket.AF_INET, socket.SOCK_DGRAM)])


@needs_extension
def test_dont_mix_internet_and_unix_sockets(stream_sockets):
    with pytest.raises(ValueError, match="Internet and UNIX sockets may not be mixed."):
        Adjustments(sockets=[stream_sockets(socket.AF_INET), stream_sockets(socket.AF_UNIX)])


@needs_extension
def test_dont_mix_forwarded_with_x_forwarded():
    with pytest.raises(ValueError, match="The Forwarded proxy header"):
        Adjustments(
            trusted_proxy="localhost", trusted_proxy_headers={"forwarded", "x-forwarded-for"}
        )


@needs_extension
def test_unknown_trusted_proxy_header():
    with pytest.raises(ValueError) as info:
        Adjustments(
            trusted_proxy="localhost",
            trusted_proxy_headers={"forwarded", "x-forwarded-unknown"},
        )
    assert "unknown trusted_proxy_headers value (x-forwarded-unknown)" in str(info.value)


@needs_extension
def test_trusted_proxy_count_no_trusted_proxy():
    with pytest.raises(ValueError, match="trusted_proxy_count has no meaning"):
        Adjustments(trusted_proxy_count=1)


@needs_extension
def test_trusted_proxy_headers_no_trusted_proxy():
    with pytest.raises(ValueError, match="trusted_proxy_headers has no meaning"):
        Adjustments(trusted_proxy_headers={"forwarded"})


@needs_extension
def test_trusted_proxy_headers_string_list():
    inst = Adjustments(
        trusted_proxy="localhost", trusted_proxy_headers="x-forwarded-for x-forwarded-by"
    )
    assert inst.trusted_proxy_headers == {"x-forwarded-for", "x-forwarded-by"}


@needs_extension
def test_trusted_proxy_headers_string_list_newlines():
    inst = Adjustments(
        trusted_proxy="localhost",
        trusted_proxy_headers="x-forwarded-for\nx-forwarded-by\nx-forwarded-host",
    )
    assert inst.trusted_proxy_headers == {"x-forwarded-for", "x-forwarded-by", "x-forwarded-host"}


@needs_extension
def test_trusted_proxy_headers_lower_cased():
    inst = Adjustments(trusted_proxy="*", trusted_proxy_headers=["X-Forwarded-For"])
    assert inst.trusted_proxy_headers == {"x-forwarded-for"}


@needs_extension
def test_no_trusted_proxy_headers_trusted_proxy():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inst = Adjustments(trusted_proxy="localhost")
    assert len(caught) == 1
    assert issubclass(caught[0].category, DeprecationWarning)
    assert "Implicitly trusting X-Forwarded-Proto" in str(caught[0].message)
    assert inst.trusted_proxy_headers == {"x-forwarded-proto"}


@needs_extension
def test_deprecated_send_bytes():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Adjustments(send_bytes=1)
    assert len(caught) == 1
    assert issubclass(caught[0].category, DeprecationWarning)
    assert "send_bytes" in str(caught[0].message)
    # The warning points at the caller.
    assert caught[0].filename == __file__


@needs_extension
def test_ignored_option_is_logged_not_warned(caplog):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with caplog.at_level(logging.WARNING, logger="waitron"):
            inst = Adjustments(asyncore_use_poll="true")
    assert caught == []
    assert inst.asyncore_use_poll is True
    assert [r.getMessage() for r in caplog.records] == [
        "asyncore_use_poll is accepted for compatibility with waitress and ignored"
    ]


@needs_extension
def test_badvar():
    with pytest.raises(ValueError, match="Unknown adjustment 'nope'"):
        Adjustments(nope=True)


@needs_extension
def test_bad_int():
    with pytest.raises(ValueError):
        Adjustments(threads="abc")


@needs_extension
def test_ipv4_disabled():
    with pytest.raises(ValueError):
        Adjustments(ipv4=False, listen="127.0.0.1:8080")


@needs_extension
def test_ipv6_disabled():
    with pytest.raises(ValueError):
        Adjustments(ipv6=False, listen="[::]:8080")


@needs_extension
def test_server_header_removable():
    assert Adjustments(ident=None).ident is None
    assert Adjustments(ident="").ident is None
    assert Adjustments(ident="specific_header").ident == "specific_header"


@needs_extension
def test_unix_socket_perms_int_is_the_mode():
    assert Adjustments(unix_socket_perms=0o660).unix_socket_perms == 0o660
    assert Adjustments(unix_socket_perms="660").unix_socket_perms == 0o660


@needs_extension
def test_options_keep_the_callers_values():
    inst = Adjustments(port="81", ipv6="false")
    assert inst._options == [("port", "81"), ("ipv6", "false")]
    assert inst.port == 81
    assert inst.ipv6 is False


# ---- the Python layer over a fake extension --------------------------------------------------


class FakeExtension:
    """Stands in for _waitron.make_adjustments to check what the Python layer does."""

    def __init__(self, values, messages=()):
        self.values = values
        self.messages = list(messages)
        self.calls = []

    def make_adjustments(self, options):
        self.calls.append(options)
        return dict(self.values), list(self.messages)


FAKE_VALUES = {
    "host": "127.0.0.1", "port": 8080, "listen": ["127.0.0.1:8080"], "ipv4": True,
    "ipv6": True, "trusted_proxy": None, "trusted_proxy_count": None,
    "trusted_proxy_headers": ["x-forwarded-for"], "sockets": [],
}


def test_fake_values_become_attributes(monkeypatch):
    fake = FakeExtension(FAKE_VALUES)
    monkeypatch.setattr(adjustments, "_waitron", fake)
    inst = Adjustments(host="127.0.0.1")
    assert fake.calls == [[("host", "127.0.0.1")]]
    assert inst.host == "127.0.0.1"
    assert inst.trusted_proxy_count == 1
    assert inst.trusted_proxy_headers == {"x-forwarded-for"}
    assert bind_pairs(inst) == [("127.0.0.1", 8080)]


def test_fake_warnings_are_sorted_by_kind(monkeypatch, caplog):
    messages = ["send_bytes will be removed in a future release", "other note"]
    fake = FakeExtension(FAKE_VALUES, messages)
    monkeypatch.setattr(adjustments, "_waitron", fake)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with caplog.at_level(logging.WARNING, logger="waitron"):
            Adjustments()
    assert [str(w.message) for w in caught] == ["send_bytes will be removed in a future release"]
    assert [r.getMessage() for r in caplog.records] == ["other note"]


def test_fake_errors_propagate(monkeypatch):
    class Failing:
        def make_adjustments(self, options):
            raise ValueError("Unknown adjustment 'x'")

    monkeypatch.setattr(adjustments, "_waitron", Failing())
    with pytest.raises(ValueError, match="Unknown adjustment 'x'"):
        Adjustments(x=1)


def test_string_sockets_value_passes_through(monkeypatch):
    fake = FakeExtension(FAKE_VALUES)
    monkeypatch.setattr(adjustments, "_waitron", fake)
    inst = Adjustments(sockets="X")
    assert fake.calls == [[("sockets", "X")]]
    assert inst.sockets == []


# ---- Adjustments.parse_args ------------------------------------------------------------------

needs_cli = pytest.mark.skipif(not hasattr(_waitron, "parse_cli"), reason="no parse_cli yet")


@needs_cli
@pytest.mark.parametrize(
    "argv, expected",
    [
        ([], {"call": False, "help": False}),
        (["--help"], {"call": False, "help": True}),
        (["--call"], {"call": True, "help": False}),
        (["--call", "--help"], {"call": True, "help": True}),
    ],
)
def test_parse_args_flags(argv, expected):
    assert Adjustments.parse_args(argv) == (expected, [])


@needs_cli
def test_parse_args_booleans():
    opts, args = Adjustments.parse_args(["--expose-tracebacks", "--no-ipv6"])
    assert opts["expose_tracebacks"] == "true"
    assert opts["ipv6"] == "false"
    assert args == []


@needs_cli
def test_parse_args_values_stay_strings():
    opts, _ = Adjustments.parse_args(["--host=localhost", "--port=80", "--unix-socket-perms=777"])
    assert opts == {"help": False, "call": False, "host": "localhost", "port": "80",
                    "unix_socket_perms": "777"}


@needs_cli
def test_parse_args_multiple_listen():
    opts, _ = Adjustments.parse_args(["--listen=test:80", "--listen=test:8080"])
    assert opts["listen"] == " test:80 test:8080"


@needs_cli
def test_parse_args_positional_and_app():
    opts, args = Adjustments.parse_args(["--app=a:b", "c:d", "--port=1"])
    assert opts["app"] == "a:b"
    assert args == ["c:d", "--port=1"]


@needs_cli
def test_parse_args_bad_param():
    with pytest.raises(getopt.GetoptError):
        Adjustments.parse_args(["--no-host"])
