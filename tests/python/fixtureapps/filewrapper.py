"""environ["wsgi.file_wrapper"] over a real file on disk (written at import into
$FIXTURE_TMP): GET /KIND/CL where KIND is

* filelike: the open file itself (seekable, with fileno());
* notfilelike: an object with read() only;
* iobase: an io.RawIOBase that is not seekable;
* offset: the open file, positioned at OFFSET before it is wrapped;
* counting: a regular file behind an object that counts its read calls (GET /reads
  answers {"reads": N, "closes": M, "other_closes": K}: the read and close calls of
  every counting object so far, and the close calls of the notfilelike and iobase ones);

and CL is cl (the right Content-Length), nocl (none), shortcl (1) or longcl (10 more
than the file)."""
import io
import json
import os
import threading

SIZE = 200_003
OFFSET = 1000
# \xff\xd8\xff (a JPEG's first bytes, as waitress's fixture), then a 251-byte period: a
# prime, so that a body shifted by any small offset does not match.
PAYLOAD = (b"\xff\xd8\xff" + bytes(range(251)) * (SIZE // 251 + 1))[:SIZE]
PATH = os.path.join(os.environ.get("FIXTURE_TMP", "."), "payload.bin")
if "FIXTURE_TMP" in os.environ:
    with open(PATH, "wb") as f:
        f.write(PAYLOAD)

_lock = threading.Lock()
COUNTS = {"reads": 0, "closes": 0, "other_closes": 0}


def _count(key):
    with _lock:
        COUNTS[key] += 1


class ReadOnly:
    """File-like to the extent of read() and close() (no seek, no tell, no fileno)."""

    def __init__(self, data: bytes):
        self._data = data
        self._pos = 0

    def read(self, size=-1):
        if size is None or size < 0:
            size = len(self._data) - self._pos
        chunk = self._data[self._pos:self._pos + size]
        self._pos += len(chunk)
        return chunk

    def close(self):
        _count("other_closes")


class RawUnseekable(io.RawIOBase):
    """Has seek(), tell() and fileno(), all refusing: seekable() is False."""

    def __init__(self, data: bytes):
        self._data = data
        self._pos = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos:self._pos + n]
        self._pos += n
        return n

    def close(self):
        if not self.closed:
            _count("other_closes")
        super().close()


class Counting:
    """A regular file; counts every call that would copy its bytes through Python."""

    def __init__(self, path):
        self._file = open(path, "rb")

    def fileno(self):
        return self._file.fileno()

    def seekable(self):
        return True

    def seek(self, offset, whence=0):
        return self._file.seek(offset, whence)

    def tell(self):
        return self._file.tell()

    def read(self, size=-1):
        _count("reads")
        return self._file.read(size)

    def readinto(self, buffer):
        _count("reads")
        return self._file.readinto(buffer)

    def read1(self, size=-1):
        _count("reads")
        return self._file.read1(size)

    def readline(self, size=-1):
        _count("reads")
        return self._file.readline(size)

    def close(self):
        _count("closes")
        self._file.close()


def _filelike(kind):
    if kind == "filelike":
        return open(PATH, "rb"), SIZE
    if kind == "offset":
        f = open(PATH, "rb")
        f.seek(OFFSET)
        return f, SIZE - OFFSET
    if kind == "notfilelike":
        return ReadOnly(PAYLOAD), SIZE
    if kind == "iobase":
        return RawUnseekable(PAYLOAD), SIZE
    if kind == "counting":
        return Counting(PATH), SIZE
    raise LookupError(kind)


def app(environ, start_response):
    if environ["PATH_INFO"] == "/reads":
        with _lock:
            body = json.dumps(COUNTS).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    _, kind, cl = environ["PATH_INFO"].split("/")
    filelike, size = _filelike(kind)
    headers = [("Content-Type", "image/jpeg")]
    lengths = {"cl": size, "shortcl": 1, "longcl": size + 10}
    if cl != "nocl":
        headers.append(("Content-Length", str(lengths[cl])))
    start_response("200 OK", headers)
    return environ["wsgi.file_wrapper"](filelike, 8192)
