"""Echoes the request: ``app`` answers a JSON description of the environ and the body,
``app_body_only`` answers the body alone. Both read the body with read(n) (n =
CONTENT_LENGTH, else -1), which wsgiref.validate accepts."""
import json
import sys

CGI_KEYS = {
    "method": "REQUEST_METHOD",
    "script_name": "SCRIPT_NAME",
    "path_info": "PATH_INFO",
    "query": "QUERY_STRING",
    "request_uri": "REQUEST_URI",
    "content_length": "CONTENT_LENGTH",
    "content_type": "CONTENT_TYPE",
    "server_name": "SERVER_NAME",
    "server_port": "SERVER_PORT",
    "server_protocol": "SERVER_PROTOCOL",
    "server_software": "SERVER_SOFTWARE",
    "remote_addr": "REMOTE_ADDR",
    "remote_host": "REMOTE_HOST",
    "remote_port": "REMOTE_PORT",
}
DISCONNECTED = ("waitron.client_disconnected", "waitress.client_disconnected")


def read_body(environ) -> bytes:
    length = environ.get("CONTENT_LENGTH")
    return environ["wsgi.input"].read(int(length) if length else -1)


def describe(environ, body: bytes) -> dict:
    """What the tests check, JSON-ready (strings stay the environ's latin-1 strings)."""
    info = {name: environ.get(key) for name, key in CGI_KEYS.items()}
    info["headers"] = {k[5:]: v for k, v in environ.items() if k.startswith("HTTP_")}
    info["url_scheme"] = environ.get("wsgi.url_scheme")
    info["wsgi"] = {
        "version": list(environ["wsgi.version"]),
        "multithread": environ.get("wsgi.multithread"),
        "multiprocess": environ.get("wsgi.multiprocess"),
        "run_once": environ.get("wsgi.run_once"),
        "input_terminated": environ.get("wsgi.input_terminated"),
        "errors_is_stderr": environ.get("wsgi.errors") is sys.stderr,
        "file_wrapper_callable": callable(environ.get("wsgi.file_wrapper")),
    }
    info["disconnected"] = {
        key: (environ[key]() if callable(environ.get(key)) else repr(environ.get(key)))
        for key in DISCONNECTED
    }
    info["types"] = {k: type(v).__name__ for k, v in environ.items() if "." not in k}
    info["keys"] = sorted(environ)
    info["body"] = body.decode("latin-1")
    return info


def app(environ, start_response):
    body = read_body(environ)
    data = json.dumps(describe(environ, body)).encode("ascii")
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(data)))])
    return [data]


def app_body_only(environ, start_response):
    body = read_body(environ)
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(body)))])
    return [body]
