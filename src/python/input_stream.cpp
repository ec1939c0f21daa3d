#include "python/input_stream.hpp"

#include "python/bridge_types.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

namespace waitron::python {

namespace {

// A body held in memory, for InputStream(b"...") (tests and applications building their own).
class BytesBody final : public BodyReader {
 public:
  explicit BytesBody(std::string data)
      : data_(std::make_shared<const std::string>(std::move(data))) {}
  explicit BytesBody(std::shared_ptr<const std::string> data) : data_(std::move(data)) {}
  std::size_t read(char* out, std::size_t n) override {
    std::size_t got = read_at(pos_, out, n);
    pos_ += got;
    return got;
  }
  std::uint64_t remaining() const override { return data_->size() - pos_; }
  std::uint64_t size() const override { return data_->size(); }
  std::uint64_t available() const override { return data_->size(); }
  bool complete() const override { return true; }
  std::size_t read_at(std::uint64_t offset, char* out, std::size_t n) const override {
    if (offset >= data_->size()) return 0;
    std::size_t got = std::min<std::size_t>(n, data_->size() - static_cast<std::size_t>(offset));
    std::memcpy(out, data_->data() + offset, got);
    return got;
  }
  std::optional<std::string_view> contiguous() const override { return std::string_view(*data_); }
  std::shared_ptr<BodyReader> share() const override { return std::make_shared<BytesBody>(data_); }

 private:
  std::shared_ptr<const std::string> data_;
  std::uint64_t pos_ = 0;
};

struct InputStream {
  PyObject_HEAD std::shared_ptr<BodyReader> body;  // constructed in place by new_input_stream
  std::uint64_t pos;
  Py_ssize_t exports;
  bool closed;
};

InputStream* self_of(PyObject* o) {
  return reinterpret_cast<InputStream*>(o);
}

// Reads larger than this from a temporary file release the GIL.
constexpr std::size_t kReleaseGilAbove = 64 * 1024;
constexpr std::size_t kScanBlock = 64 * 1024;

bool check_open(InputStream* s) {
  if (s->closed) {
    PyErr_SetString(PyExc_ValueError, "I/O operation on closed file.");
    return false;
  }
  return true;
}

// Bytes after the position that have arrived (all of them once the body is complete).
std::uint64_t remaining(InputStream* s) {
  std::uint64_t size = s->body->available();
  return s->pos >= size ? 0 : size - s->pos;
}

// Raises the body's failure (the client left, or the body was malformed or too large) as
// waitron.ClientDisconnected, an OSError.
void raise_body_error(const std::exception& e) {
  PyErr_SetString(bridge_types().client_disconnected, e.what());
}

// The body's whole length: waits, with the GIL released, for a body still arriving.
bool whole_size(InputStream* s, std::uint64_t& size) {
  try {
    if (s->body->complete()) {
      size = s->body->size();
    } else {
      AllowThreads unlocked;
      size = s->body->size();
    }
    return true;
  } catch (const std::exception& e) {
    raise_body_error(e);
    return false;
  }
}

// Reads up to n bytes at the position, waiting (GIL released) for a body still arriving
// until n bytes or its end; `stop_at_newline` ends early after a '\n'. New bytes or null.
PyObject* read_streaming(InputStream* s, std::uint64_t n, bool stop_at_newline) {
  std::string out;
  char block[65536];
  try {
    while (out.size() < n) {
      std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(sizeof block, n - out.size()));
      std::size_t got;
      {
        AllowThreads unlocked;
        got = s->body->read_at(s->pos + out.size(), block, want);
      }
      if (got == 0) break;
      std::string_view view(block, got);
      std::size_t nl = stop_at_newline ? view.find('\n') : std::string_view::npos;
      out.append(block, nl == std::string_view::npos ? got : nl + 1);
      if (nl != std::string_view::npos) break;
    }
  } catch (const std::exception& e) {
    raise_body_error(e);
    return nullptr;
  }
  s->pos += out.size();
  return PyBytes_FromStringAndSize(out.data(), static_cast<Py_ssize_t>(out.size()));
}

// Parses an optional size argument: None or negative means "all".
bool parse_size(PyObject* const* args, Py_ssize_t nargs, const char* name, Py_ssize_t& size) {
  size = -1;
  if (nargs > 1) {
    PyErr_Format(PyExc_TypeError, "%s() takes at most 1 argument (%zd given)", name, nargs);
    return false;
  }
  if (nargs == 1 && args[0] != Py_None) {
    size = PyNumber_AsSsize_t(args[0], PyExc_OverflowError);
    if (size == -1 && PyErr_Occurred()) return false;
  }
  return true;
}

// Copies [offset, offset + n) of the body into a new bytes object.
PyObject* bytes_at(InputStream* s, std::uint64_t offset, std::size_t n) {
  if (auto view = s->body->contiguous()) {
    return PyBytes_FromStringAndSize(view->data() + offset, static_cast<Py_ssize_t>(n));
  }
  PyRef out = PyRef::steal(PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(n)));
  if (!out) return nullptr;
  char* dest = PyBytes_AS_STRING(out.get());
  std::size_t got = 0;
  try {
    // Callers only ask for bytes that have arrived, so this never waits for the network.
    while (got < n) {
      std::size_t step;
      if (n > kReleaseGilAbove) {
        AllowThreads unlocked;
        step = s->body->read_at(offset + got, dest + got, n - got);
      } else {
        step = s->body->read_at(offset + got, dest + got, n - got);
      }
      if (step == 0) break;
      got += step;
    }
  } catch (const std::exception& e) {
    raise_body_error(e);
    return nullptr;
  }
  if (got != n) {
    PyErr_SetString(PyExc_OSError, "the request body could not be read");
    return nullptr;
  }
  return out.release();
}

// The offset of the first `needle` in [from, to), or -1; memchr/memmem in memory, blocks
// with an overlap in a temporary file.
std::int64_t find_in(InputStream* s, std::string_view needle, std::uint64_t from,
                     std::uint64_t to) {
  if (to <= from || needle.size() > to - from)
    return needle.empty() && from <= to ? static_cast<std::int64_t>(from) : -1;
  if (needle.empty()) return static_cast<std::int64_t>(from);
  if (auto view = s->body->contiguous()) {
    const char* base = view->data();
    std::size_t len = static_cast<std::size_t>(to - from);
    const void* hit = needle.size() == 1 ? std::memchr(base + from, needle[0], len)
                                         : memmem(base + from, len, needle.data(), needle.size());
    return hit ? static_cast<const char*>(hit) - base : -1;
  }
  std::string block(kScanBlock + needle.size(), '\0');
  for (std::uint64_t at = from; at < to;) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), to - at));
    std::size_t got = s->body->read_at(at, block.data(), want);
    if (got < needle.size()) return -1;
    const void* hit = memmem(block.data(), got, needle.data(), needle.size());
    if (hit) return static_cast<std::int64_t>(at) + (static_cast<const char*>(hit) - block.data());
    if (at + got >= to) return -1;
    at += got - (needle.size() - 1);  // overlap so a match across blocks is found
  }
  return -1;
}

// The length of the line starting at pos (through '\n'), at most `limit` bytes.
std::uint64_t line_length(InputStream* s, std::uint64_t limit) {
  std::uint64_t end = s->pos + std::min(limit, remaining(s));
  std::int64_t nl = find_in(s, "\n", s->pos, end);
  return nl < 0 ? end - s->pos : static_cast<std::uint64_t>(nl) + 1 - s->pos;
}

PyObject* stream_read(PyObject* o, PyObject* const* args, Py_ssize_t nargs) {
  InputStream* s = self_of(o);
  Py_ssize_t size;
  if (!check_open(s) || !parse_size(args, nargs, "read", size)) return nullptr;
  if (!s->body->complete()) {
    return read_streaming(s, size < 0 ? UINT64_MAX : static_cast<std::uint64_t>(size), false);
  }
  std::uint64_t n = remaining(s);
  if (size >= 0) n = std::min<std::uint64_t>(n, static_cast<std::uint64_t>(size));
  PyObject* out = bytes_at(s, s->pos, static_cast<std::size_t>(n));
  if (out) s->pos += n;
  return out;
}

PyObject* stream_readline(PyObject* o, PyObject* const* args, Py_ssize_t nargs) {
  InputStream* s = self_of(o);
  Py_ssize_t size;
  if (!check_open(s) || !parse_size(args, nargs, "readline", size)) return nullptr;
  if (!s->body->complete()) {
    return read_streaming(s, size < 0 ? UINT64_MAX : static_cast<std::uint64_t>(size), true);
  }
  std::uint64_t n = 0;
  try {  // a read of a temporary file may fail: no C++ exception may reach CPython
    n = line_length(s, size < 0 ? UINT64_MAX : static_cast<std::uint64_t>(size));
  } catch (const std::exception& e) {
    raise_body_error(e);
    return nullptr;
  }
  PyObject* out = bytes_at(s, s->pos, static_cast<std::size_t>(n));
  if (out) s->pos += n;
  return out;
}

PyObject* stream_readlines(PyObject* o, PyObject* const* args, Py_ssize_t nargs) {
  InputStream* s = self_of(o);
  Py_ssize_t hint;
  if (!check_open(s) || !parse_size(args, nargs, "readlines", hint)) return nullptr;
  PyRef lines = PyRef::steal(PyList_New(0));
  if (!lines) return nullptr;
  std::uint64_t total = 0;
  for (;;) {
    PyRef line = PyRef::steal(stream_readline(o, nullptr, 0));
    if (!line) return nullptr;
    Py_ssize_t n = PyBytes_GET_SIZE(line.get());
    if (n == 0) break;
    if (PyList_Append(lines.get(), line.get()) < 0) return nullptr;
    total += static_cast<std::uint64_t>(n);
    if (hint > 0 && total >= static_cast<std::uint64_t>(hint)) break;
  }
  return lines.release();
}

PyObject* stream_iternext(PyObject* o) {
  PyRef line = PyRef::steal(stream_readline(o, nullptr, 0));
  if (!line || PyBytes_GET_SIZE(line.get()) == 0) return nullptr;  // StopIteration at the end
  return line.release();
}

PyObject* stream_iter(PyObject* o) {
  if (!check_open(self_of(o))) return nullptr;
  return Py_NewRef(o);
}

PyObject* stream_seek(PyObject* o, PyObject* const* args, Py_ssize_t nargs) {
  InputStream* s = self_of(o);
  if (!check_open(s)) return nullptr;
  if (nargs < 1 || nargs > 2) {
    PyErr_SetString(PyExc_TypeError, "seek() takes 1 or 2 arguments");
    return nullptr;
  }
  long long offset = PyLong_AsLongLong(args[0]);
  if (offset == -1 && PyErr_Occurred()) return nullptr;
  long whence = nargs == 2 ? PyLong_AsLong(args[1]) : 0;
  if (whence == -1 && PyErr_Occurred()) return nullptr;
  std::uint64_t end = 0;
  if (whence == 2 && !whole_size(s, end)) return nullptr;
  long long base = whence == 0   ? 0
                   : whence == 1 ? static_cast<long long>(s->pos)
                   : whence == 2 ? static_cast<long long>(end)
                                 : -1;
  if (base < 0) {
    PyErr_Format(PyExc_ValueError, "invalid whence (%ld, should be 0, 1 or 2)", whence);
    return nullptr;
  }
  long long target = 0;
  if (__builtin_add_overflow(base, offset, &target)) {
    PyErr_SetString(PyExc_OverflowError, "seek position out of range");
    return nullptr;
  }
  if (target < 0) {
    PyErr_Format(PyExc_ValueError, "negative seek position %lld", target);
    return nullptr;
  }
  // Like BytesIO, a position past the end is allowed; reads there return b"".
  s->pos = static_cast<std::uint64_t>(target);
  return PyLong_FromUnsignedLongLong(s->pos);
}

PyObject* stream_tell(PyObject* o, PyObject*) {
  InputStream* s = self_of(o);
  if (!check_open(s)) return nullptr;
  return PyLong_FromUnsignedLongLong(s->pos);
}

PyObject* stream_find(PyObject* o, PyObject* const* args, Py_ssize_t nargs) {
  InputStream* s = self_of(o);
  if (!check_open(s)) return nullptr;
  if (nargs < 1 || nargs > 3) {
    PyErr_SetString(PyExc_TypeError, "find() takes 1 to 3 arguments");
    return nullptr;
  }
  Py_buffer sub;
  if (PyObject_GetBuffer(args[0], &sub, PyBUF_SIMPLE) < 0) return nullptr;
  std::string needle(static_cast<const char*>(sub.buf), static_cast<std::size_t>(sub.len));
  PyBuffer_Release(&sub);
  // Over the bytes that have arrived (all of them once the body is complete).
  std::uint64_t size = s->body->available();
  auto bound = [&](PyObject* v, std::uint64_t dflt, std::uint64_t& out) {
    if (v == Py_None) {
      out = dflt;
      return true;
    }
    long long x = PyLong_AsLongLong(v);
    if (x == -1 && PyErr_Occurred()) return false;
    // Negative indices count from the end, as with bytes.find.
    if (x < 0) x = std::max(0LL, static_cast<long long>(size) + x);
    out = std::min<std::uint64_t>(static_cast<std::uint64_t>(x), size);
    return true;
  };
  std::uint64_t start = 0, end = size;
  if ((nargs >= 2 && !bound(args[1], 0, start)) || (nargs == 3 && !bound(args[2], size, end))) {
    return nullptr;
  }
  try {  // a read of a temporary file may fail: no C++ exception may reach CPython
    return PyLong_FromLongLong(find_in(s, needle, start, end));
  } catch (const std::exception& e) {
    raise_body_error(e);
    return nullptr;
  }
}

PyObject* stream_readable_amount(PyObject* o, PyObject*) {
  InputStream* s = self_of(o);
  if (!check_open(s)) return nullptr;
  return PyLong_FromUnsignedLongLong(remaining(s));
}

PyObject* stream_at_eof(PyObject* o, PyObject*) {
  InputStream* s = self_of(o);
  if (!check_open(s)) return nullptr;
  return PyBool_FromLong(s->body->complete() && remaining(s) == 0);
}

// Reads what has arrived, never waiting.
PyObject* stream_read_nonblock(PyObject* o, PyObject* const* args, Py_ssize_t nargs) {
  InputStream* s = self_of(o);
  Py_ssize_t size;
  if (!check_open(s) || !parse_size(args, nargs, "read_nonblock", size)) return nullptr;
  std::uint64_t n = remaining(s);
  if (size >= 0) n = std::min<std::uint64_t>(n, static_cast<std::uint64_t>(size));
  if (n == 0) return PyBytes_FromStringAndSize(nullptr, 0);
  PyObject* out = bytes_at(s, s->pos, static_cast<std::size_t>(n));
  if (out) s->pos += n;
  return out;
}

PyObject* stream_true(PyObject*, PyObject*) {
  Py_RETURN_TRUE;
}
PyObject* stream_false(PyObject*, PyObject*) {
  Py_RETURN_FALSE;
}

PyObject* stream_close(PyObject* o, PyObject*) {
  self_of(o)->closed = true;
  Py_RETURN_NONE;
}

PyObject* stream_closed(PyObject* o, void*) {
  return PyBool_FromLong(self_of(o)->closed);
}

Py_ssize_t stream_len(PyObject* o) {
  InputStream* s = self_of(o);
  if (!check_open(s)) return -1;
  return static_cast<Py_ssize_t>(remaining(s));
}

int stream_getbuffer(PyObject* o, Py_buffer* view, int flags) {
  InputStream* s = self_of(o);
  if (!check_open(s)) return -1;
  auto data = s->body->contiguous();
  if (!data) {
    PyErr_SetString(PyExc_BufferError,
                    "the request body is in a temporary file; read() it instead");
    return -1;
  }
  if (PyBuffer_FillInfo(view, o, const_cast<char*>(data->data()),
                        static_cast<Py_ssize_t>(data->size()), 1, flags) < 0) {
    return -1;
  }
  ++s->exports;
  return 0;
}

void stream_releasebuffer(PyObject* o, Py_buffer*) {
  --self_of(o)->exports;
}

PyObject* stream_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
  Py_buffer data;
  static const char* keywords[] = {"data", nullptr};
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*:InputStream", const_cast<char**>(keywords),
                                   &data)) {
    return nullptr;
  }
  std::string copy(static_cast<const char*>(data.buf), static_cast<std::size_t>(data.len));
  PyBuffer_Release(&data);
  try {
    return new_input_stream(reinterpret_cast<PyObject*>(type),
                            std::make_shared<BytesBody>(std::move(copy)));
  } catch (const std::bad_alloc&) {
    return PyErr_NoMemory();
  }
}

void stream_dealloc(PyObject* o) {
  InputStream* s = self_of(o);
  PyTypeObject* type = Py_TYPE(o);
  s->body.~shared_ptr();  // may close the body's temporary file
  type->tp_free(o);
  Py_DECREF(type);
}

PyMethodDef stream_methods[] = {
    {"read", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(stream_read)),
     METH_FASTCALL, "read(size=-1) -> bytes"},
    {"readline", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(stream_readline)),
     METH_FASTCALL, "readline(size=-1) -> bytes: through the next newline"},
    {"readlines", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(stream_readlines)),
     METH_FASTCALL, "readlines(hint=-1) -> list of bytes"},
    {"read_nonblock",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(stream_read_nonblock)),
     METH_FASTCALL, "read_nonblock(size=-1) -> the bytes that have arrived; never waits"},
    {"seek", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(stream_seek)),
     METH_FASTCALL, "seek(offset, whence=0) -> new position"},
    {"tell", stream_tell, METH_NOARGS, "tell() -> position"},
    {"find", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(stream_find)),
     METH_FASTCALL, "find(sub, start=0, end=None) -> lowest index of sub in the body, or -1"},
    {"readable_amount", stream_readable_amount, METH_NOARGS,
     "readable_amount() -> bytes readable without blocking"},
    {"at_eof", stream_at_eof, METH_NOARGS, "at_eof() -> True once everything was read"},
    {"readable", stream_true, METH_NOARGS, nullptr},
    {"seekable", stream_true, METH_NOARGS, nullptr},
    {"writable", stream_false, METH_NOARGS, nullptr},
    {"close", stream_close, METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef stream_getset[] = {
    {"closed", stream_closed, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot stream_slots[] = {
    {Py_tp_doc, const_cast<char*>("wsgi.input: the request body as a read-only file object.")},
    {Py_tp_new, reinterpret_cast<void*>(stream_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(stream_dealloc)},
    {Py_tp_methods, stream_methods},
    {Py_tp_getset, stream_getset},
    {Py_tp_iter, reinterpret_cast<void*>(stream_iter)},
    {Py_tp_iternext, reinterpret_cast<void*>(stream_iternext)},
    {Py_sq_length, reinterpret_cast<void*>(stream_len)},
    {Py_bf_getbuffer, reinterpret_cast<void*>(stream_getbuffer)},
    {Py_bf_releasebuffer, reinterpret_cast<void*>(stream_releasebuffer)},
    {0, nullptr},
};

PyType_Spec stream_spec = {
    "waitron._waitron.InputStream", sizeof(InputStream), 0, Py_TPFLAGS_DEFAULT, stream_slots,
};

}  // namespace

PyObject* make_input_stream_type() {
  return PyType_FromSpec(&stream_spec);
}

PyObject* new_input_stream(PyObject* type, std::shared_ptr<BodyReader> body) {
  auto* t = reinterpret_cast<PyTypeObject*>(type);
  PyObject* o = t->tp_alloc(t, 0);
  if (!o) return nullptr;
  InputStream* s = self_of(o);
  new (&s->body) std::shared_ptr<BodyReader>(std::move(body));
  s->pos = 0;
  s->exports = 0;
  s->closed = false;
  return o;
}

}  // namespace waitron::python
