"""A client, run as a script: GETs URL and writes the first line of the body to stdout.

    python3 getline.py http://HOST:PORT/PATH
    python3 getline.py unix:SOCKET_PATH:/PATH
"""
import http.client
import socket
import sys


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def main(url: str) -> int:
    if url.startswith("unix:"):
        path, _, target = url[len("unix:"):].rpartition(":")
        conn = UnixConnection(path)
    else:
        hostport, _, rest = url[len("http://"):].partition("/")
        host, _, port = hostport.rpartition(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        target = "/" + rest
    try:
        conn.request("GET", target)
        line = conn.getresponse().readline().decode("ascii")
    except OSError as exc:
        line = f"failed to read {url}: {exc}"
    sys.stdout.write(line)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
