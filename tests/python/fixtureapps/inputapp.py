"""Exercises environ["wsgi.input"]: POST /NAME runs SCRIPTS[NAME] on it and answers the
JSON of what each call returned (bytes as ["bytes", latin-1 text]), or {"raised": NAME}
when the script raised.

The scripts of STANDARD use only the io interface (read, readline, readlines, iteration,
seek, tell): the tests run them on io.BytesIO(body) too and expect the same results.
PORTABLE is the part of those that wsgiref.validate's input wrapper allows. The others
use waitron's extensions (find, read_nonblock, readable_amount, at_eof, the buffer
protocol)."""
import ctypes
import json


def read_all(f):
    return [f.read(), f.read()]


def read_none(f):
    return [f.read(None), f.read(None)]


def read_minus_one(f):
    return [f.read(-1), f.read(-1)]


def read_n(n):
    def script(f):
        out = []
        for _ in range(100_000):
            chunk = f.read(n)
            out.append(chunk)
            if not chunk:
                break
        return out
    return script


def read_zero(f):
    return [f.read(0), f.read(5), f.read(0)]


def readline(f):
    out = []
    for _ in range(100_000):
        line = f.readline()
        out.append(line)
        if not line:
            break
    return out


def readline_size(f):
    out = []
    for _ in range(100_000):
        line = f.readline(7)
        out.append(line)
        if not line:
            break
    return out


def readlines(f):
    return [f.readlines(), f.readlines()]


def readlines_hint(f):
    return [f.readlines(30), f.readline()]


def iterate(f):
    return [line for line in f]


def seek_tell(f):
    out = [f.read(3), f.tell(), f.seek(0), f.tell(), f.read(5), f.seek(2, 1), f.read(2)]
    end = f.seek(0, 2)
    # Not before the start: BytesIO clamps to 0 there, files raise OSError.
    return out + [end, f.seek(-min(4, end), 2), f.read(), f.tell(), f.read(), f.seek(0),
                  f.readline(), f.seek(end + 10), f.read(), f.seek(0), f.read(2)]


def mixed(f):
    return [f.readline(), f.read(4), f.readline(), f.tell(), list(f), f.read(1)]


def find(f):
    first_newline = f.find(b"\n")
    return [first_newline, f.find(b"needle"), f.find(b"absent"), f.find(b"n"),
            f.find(b"\n", first_newline + 1), f.find(b"needle", 0, 5), f.tell(),
            f.read(3)]


def nonblock(f):
    return [f.readable_amount(), f.at_eof(), f.read_nonblock(4), f.readable_amount(),
            f.at_eof(), f.read_nonblock(), f.readable_amount(), f.at_eof(),
            f.read_nonblock(), f.read_nonblock(10), f.read(1)]


class _PyBuffer(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("obj", ctypes.c_void_p),
                ("len", ctypes.c_ssize_t), ("itemsize", ctypes.c_ssize_t),
                ("readonly", ctypes.c_int), ("ndim", ctypes.c_int),
                ("format", ctypes.c_char_p), ("shape", ctypes.c_void_p),
                ("strides", ctypes.c_void_p), ("suboffsets", ctypes.c_void_p),
                ("internal", ctypes.c_void_p)]


def buffer_address(obj):
    """The address and length of obj's buffer (PyObject_GetBuffer, then release)."""
    get = ctypes.pythonapi.PyObject_GetBuffer
    get.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
    release = ctypes.pythonapi.PyBuffer_Release
    release.argtypes = [ctypes.POINTER(_PyBuffer)]
    view = _PyBuffer()
    get(obj, ctypes.byref(view), 0)  # PyBUF_SIMPLE; an error raises (pythonapi)
    try:
        return [view.buf, view.len, view.readonly]
    finally:
        release(ctypes.byref(view))


def memview(f):
    """The buffer protocol: the whole body, read-only, the same memory at each export."""
    try:
        view = memoryview(f)
    except Exception as exc:  # a body that cannot be exported (e.g. in a temp file)
        return {"error": type(exc).__name__, "read": f.read(5)}
    info = {"readonly": view.readonly, "nbytes": view.nbytes, "ndim": view.ndim,
            "format": view.format, "content": bytes(view), "first": view[:1].tobytes()}
    try:
        view[0] = 0
        info["store"] = "allowed"
    except TypeError:
        info["store"] = "TypeError"
    first, second = buffer_address(f), buffer_address(f)
    info["same_memory"] = first == second
    info["readonly_export"] = bool(first[2])
    info["view_address"] = buffer_address(view)[0] == first[0]
    view.release()
    info["read_after"] = f.read(5)
    return info


STANDARD = {
    "read_all": read_all,
    "read_none": read_none,
    "read_minus_one": read_minus_one,
    "read_1": read_n(1),
    "read_7": read_n(7),
    "read_4096": read_n(4096),
    "read_zero": read_zero,
    "readline": readline,
    "readline_size": readline_size,
    "readlines": readlines,
    "readlines_hint": readlines_hint,
    "iterate": iterate,
    "seek_tell": seek_tell,
    "mixed": mixed,
}
PORTABLE = ["read_7", "read_4096", "readline", "readline_size", "readlines_hint", "iterate"]
SCRIPTS = dict(STANDARD, find=find, nonblock=nonblock, memview=memview)


def jsonable(value):
    if isinstance(value, (bytes, bytearray)):
        return ["bytes", bytes(value).decode("latin-1")]
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def run_script(name, f):
    """SCRIPTS[name](f), JSON-ready; an exception becomes {"raised": its type's name}."""
    try:
        return jsonable(SCRIPTS[name](f))
    except Exception as exc:
        return {"raised": type(exc).__name__}


def app(environ, start_response):
    result = run_script(environ["PATH_INFO"].strip("/"), environ["wsgi.input"])
    data = json.dumps(result).encode("ascii")
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(data)))])
    return [data]
