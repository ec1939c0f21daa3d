"""nginx in front of waitron, with the site configuration of examples/deploy/nginx-site.conf.

Each test starts a real nginx (/usr/sbin/nginx, Debian's nginx-light) on loopback as an
ordinary process: its own prefix, configuration, pid file, temporary folders and a
self-signed certificate in the test's tmp folder, `daemon off`, one process, free ports.
nginx terminates TLS and proxies to waitron over TCP or a Unix socket; waitron runs either
the native fixture App or a WSGI app (waitron-serve embedding Python), with the trust
settings the example file tells operators to use.

The site file is used as it is, with only its ports, upstream address and certificate paths
replaced (each replaced text must occur exactly once, so an edit of the example that these
tests no longer match fails here instead of testing something else).

The client reaches nginx from 127.0.0.3, nginx reaches waitron from 127.0.0.2 (proxy_bind),
and a direct client reaches waitron from 127.0.0.1: three addresses of the loopback network,
so the application's REMOTE_ADDR tells who it believes the client is.

The nginx tests are skipped only when nginx is not installed (tools/ensure-packages
installs nginx-light). The README shows the site file: a test checks that it is the same.
"""
import os
import shutil
import signal
import socket
import ssl
import subprocess

import pytest

from conftest import REPO, Client, build_request, embedded_python_env, wait_until

NGINX = "/usr/sbin/nginx"
SITE = REPO / "examples" / "deploy" / "nginx-site.conf"
WSGI_APP = REPO / "tests" / "functional" / "wsgi_apps" / "environ_lines.py"
TRUSTED_HEADERS = ("--trusted-proxy-headers="
                   "x-forwarded-for x-forwarded-proto x-forwarded-host x-forwarded-port")
CLIENT_ADDRESS = "127.0.0.3"  # the browser, as nginx sees it
NGINX_ADDRESS = "127.0.0.2"  # nginx, as waitron sees it (proxy_bind in the site file)
TIMEOUT = 10.0

needs_nginx = pytest.mark.skipif(not os.access(NGINX, os.X_OK),
                                 reason="nginx is not installed (tools/ensure-packages installs "
                                        "nginx-light)")

# The process-wide part of nginx.conf: everything an unprivileged nginx needs in the test's
# folder. The site file is included as an operator's nginx.conf includes sites-enabled/.
MAIN_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
lock_file {dir}/nginx.lock;
error_log {dir}/error.log notice;
events {{
    worker_connections 64;
}}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/site.conf;
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{SITE} should contain {old!r} exactly once"
    return text.replace(old, new)


def site_config(upstream: str, http_port: int, https_port: int, cert: str, key: str,
                proxy_bind: bool) -> str:
    """examples/deploy/nginx-site.conf with the test's ports, upstream and certificate."""
    text = SITE.read_text()
    text = replace_once(text, "listen 80;", f"listen 127.0.0.1:{http_port};")
    text = replace_once(text, "listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    text = replace_once(text, "server 127.0.0.1:8080;", f"server {upstream};")
    text = replace_once(text, "/etc/ssl/certs/example.com.pem", cert)
    text = replace_once(text, "/etc/ssl/private/example.com.key", key)
    text = replace_once(text, f"proxy_bind {NGINX_ADDRESS};",
                        f"proxy_bind {NGINX_ADDRESS};" if proxy_bind else "")
    return text


class Nginx:
    """One nginx process serving the site file; stopped (and checked) by stop()."""

    def __init__(self, workdir: str, upstream: str, proxy_bind: bool):
        self.dir = os.path.join(workdir, "nginx")
        os.makedirs(self.dir)
        cert, key = os.path.join(self.dir, "cert.pem"), os.path.join(self.dir, "key.pem")
        openssl = shutil.which("openssl")
        assert openssl, "the openssl command is needed (tools/ensure-packages installs it)"
        subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                       check=True, capture_output=True, timeout=60)
        self.http_port, self.https_port = free_port(), free_port()
        with open(os.path.join(self.dir, "site.conf"), "w") as f:
            f.write(site_config(upstream, self.http_port, self.https_port, cert, key, proxy_bind))
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(MAIN_CONF.format(dir=self.dir))
        self.stderr = open(os.path.join(self.dir, "stderr.log"), "wb")
        self.proc = subprocess.Popen([NGINX, "-p", self.dir, "-c", conf, "-e", "stderr"],
                                     stdin=subprocess.DEVNULL, stdout=self.stderr,
                                     stderr=self.stderr)
        ready = wait_until(lambda: self.proc.poll() is not None or
                           (self._accepts(self.http_port) and self._accepts(self.https_port)),
                           TIMEOUT)
        if not ready or self.proc.poll() is not None:
            self.stop(check=False)
            pytest.fail(f"nginx did not start:\n{self.log()}")

    @staticmethod
    def _accepts(port: int) -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    def log(self) -> str:
        text = ""
        for name in ("stderr.log", "error.log"):
            path = os.path.join(self.dir, name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text += f.read()
        return text

    def connect_tls(self) -> Client:
        """A TLS connection from the client's own loopback address."""
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", self.https_port), timeout=TIMEOUT,
                                       source_address=(CLIENT_ADDRESS, 0))
        return Client(context.wrap_socket(raw, server_hostname="shop.example"))

    def connect_plain(self) -> Client:
        return Client(socket.create_connection(("127.0.0.1", self.http_port), timeout=TIMEOUT,
                                               source_address=(CLIENT_ADDRESS, 0)))

    def stop(self, check: bool = True):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful shutdown
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        if check:
            assert self.proc.returncode == 0, f"nginx exited with {self.proc.returncode}:\n{self.log()}"


@pytest.fixture(params=["native", "wsgi"])
def app_kind(request) -> str:
    if request.param == "wsgi" and os.environ.get("WAITRON_WITH_PYTHON") == "0":
        pytest.skip("waitron was built without Python")
    return request.param


@pytest.fixture
def proxied(start_server, serve_exe, transport, app_kind, tmp_dir):
    """(waitron, nginx): waitron trusting nginx only, nginx serving the example site."""
    trusted = NGINX_ADDRESS if transport == "tcp" else "localhost"
    flags = [f"--trusted-proxy={trusted}", TRUSTED_HEADERS]
    if app_kind == "wsgi":
        # waitron-serve imports MODULE:APP from its working folder, the test's tmp folder.
        shutil.copy(WSGI_APP, tmp_dir)
        server = start_server(*flags, "environ_lines:app", exe=serve_exe,
                              env=embedded_python_env())
    else:
        server = start_server(*flags)
    if transport == "tcp":
        upstream = f"{server.address[0]}:{server.address[1]}"
    else:
        upstream = f"unix:{server.address}"
    nginx = Nginx(tmp_dir, upstream, proxy_bind=(transport == "tcp"))
    yield server, nginx
    nginx.stop()


def environ_from(resp) -> dict:
    assert resp.status == 200, resp
    return dict(line.split("=", 1) for line in resp.body.decode("latin-1").splitlines())


SPOOFED = [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-Proto", "http"),
           ("X-Forwarded-Host", "evil.example"), ("X-Forwarded-Port", "1"),
           ("Forwarded", "for=6.6.6.6;proto=http")]


@needs_nginx
def test_app_sees_the_original_client_scheme_and_host(proxied):
    server, nginx = proxied
    with nginx.connect_tls() as client:
        # Two requests: nginx keeps its connection to waitron (keepalive in the upstream).
        for _ in range(2):
            client.send(build_request("GET", "/environ?x=1", headers=SPOOFED, host="shop.example"))
            environ = environ_from(client.read_response())
            assert environ["REMOTE_ADDR"] == CLIENT_ADDRESS
            assert environ["REMOTE_HOST"] == CLIENT_ADDRESS
            assert environ["wsgi.url_scheme"] == "https"
            assert environ["SERVER_NAME"] == "shop.example"
            assert environ["SERVER_PORT"] == str(nginx.https_port)
            assert environ["HTTP_HOST"] == f"shop.example:{nginx.https_port}"
            assert environ["QUERY_STRING"] == "x=1"
            # nginx appended the client to the spoofed list; only its own entry is trusted.
            assert environ["HTTP_X_FORWARDED_FOR"] == CLIENT_ADDRESS
            assert environ["HTTP_X_FORWARDED_PROTO"] == "https"
            assert environ["HTTP_X_FORWARDED_HOST"] == "shop.example"
            assert "HTTP_FORWARDED" not in environ  # not a trusted header: removed


@needs_nginx
def test_plain_http_is_redirected_to_https(proxied):
    server, nginx = proxied
    with nginx.connect_plain() as client:
        client.send(build_request("GET", "/environ?x=1", host="shop.example"))
        resp = client.read_response()
    assert resp.status == 301
    assert resp.header("Location") == "https://shop.example/environ?x=1"


@needs_nginx
@pytest.mark.parametrize("transport", ["tcp"])
def test_a_direct_client_cannot_spoof(proxied):
    """waitron trusts nginx's address only: a local client that connects straight to
    waitron (from 127.0.0.1) and sends proxy headers is seen as itself, without them."""
    server, nginx = proxied
    with server.connect() as client:
        client.send(build_request("GET", "/environ", headers=SPOOFED, host="shop.example"))
        environ = environ_from(client.read_response())
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["SERVER_NAME"] == "waitress.invalid"
    assert environ["SERVER_PORT"] == str(server.address[1])
    assert environ["HTTP_HOST"] == "shop.example"
    assert not [key for key in environ if "FORWARDED" in key]
    # The same spoofed headers through nginx: nginx's values win.
    with nginx.connect_tls() as client:
        client.send(build_request("GET", "/environ", headers=SPOOFED, host="shop.example"))
        environ = environ_from(client.read_response())
    assert environ["REMOTE_ADDR"] == CLIENT_ADDRESS
    assert environ["wsgi.url_scheme"] == "https"


def test_readme_shows_the_site_file():
    readme = (REPO / "README.md").read_text()
    assert f"```nginx\n{SITE.read_text()}```" in readme, (
        "README.md's nginx block differs from examples/deploy/nginx-site.conf")
