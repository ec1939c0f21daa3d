"""Platform facts that waitress's public ``compat`` module exposes.

Code and test suites written for waitress import ``WIN`` from here to skip what a
platform cannot do. waitron runs on POSIX systems only (it needs Unix sockets,
``sendfile`` and libuv's POSIX back end), so ``WIN`` is always False.
"""

import socket
import sys

# True when running on Windows; waitron does not support Windows.
WIN = False

MAXINT = sys.maxsize

# Whether this Python was built with IPv6 support.
HAS_IPV6 = socket.has_ipv6

__all__ = ["WIN", "MAXINT", "HAS_IPV6"]
