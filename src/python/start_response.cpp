#include "python/start_response.hpp"

#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <vector>

#include "core/forced_unwind.hpp"
#include "http/response_head.hpp"
#include "http/rfc9110.hpp"
#include "python/bridge_types.hpp"
#include "python/deferred_release.hpp"

namespace waitron::python {

namespace {

// Chunks this size and up go to the socket without a copy.
constexpr std::size_t kZeroCopyAbove = 64 * 1024;

using http::iequals;

// A str as latin-1 bytes (PEP 3333's "native strings"); false with an exception set.
bool latin1(PyObject* s, std::string& out) {
#if PY_VERSION_HEX < 0x030C0000
  if (PyUnicode_READY(s) < 0) return false;  // a legacy string made by the old C API
#endif
  // A str of one byte per character (ASCII or latin-1, nearly always) is its bytes already.
  if (PyUnicode_KIND(s) == PyUnicode_1BYTE_KIND) {
    out.assign(reinterpret_cast<const char*>(PyUnicode_1BYTE_DATA(s)),
               static_cast<std::size_t>(PyUnicode_GET_LENGTH(s)));
    return true;
  }
  PyRef bytes = PyRef::steal(PyUnicode_AsLatin1String(s));
  if (!bytes) return false;
  out.assign(PyBytes_AS_STRING(bytes.get()),
             static_cast<std::size_t>(PyBytes_GET_SIZE(bytes.get())));
  return true;
}

// One object type serves both callables: start_response keeps the state and the write
// callables it made, so detaching it detaches them too.
struct Callable {
  PyObject_HEAD ResponseState* state;  // null once detached
  PyObject* writer;   // start_response: the first write callable it returned, or null
  PyObject* writers;  // start_response: a list of the later ones (calls with exc_info), or null
};

Callable* self_of(PyObject* o) {
  return reinterpret_cast<Callable*>(o);
}

void callable_dealloc(PyObject* o) {
  PyTypeObject* type = Py_TYPE(o);
  Py_XDECREF(self_of(o)->writer);
  Py_XDECREF(self_of(o)->writers);
  type->tp_free(o);
  Py_DECREF(type);
}

PyObject* new_callable(PyObject* type, ResponseState* state) {
  auto* t = reinterpret_cast<PyTypeObject*>(type);
  PyObject* o = t->tp_alloc(t, 0);  // zero-filled: no writers yet
  if (o) self_of(o)->state = state;
  return o;
}

// Keeps a write callable that start_response returns, to detach it with start_response.
bool keep_writer(Callable* start, PyObject* writer) {
  if (!start->writer) {
    start->writer = Py_NewRef(writer);
    return true;
  }
  if (!start->writers && !(start->writers = PyList_New(0))) return false;
  return PyList_Append(start->writers, writer) == 0;
}

bool ended(Callable* c) {
  if (c->state) return false;
  PyErr_SetString(PyExc_RuntimeError, "the request this callable belongs to has ended");
  return true;
}

PyObject* start_response_body(PyObject* o, PyObject* args, PyObject* kwargs) {
  PyObject* status = nullptr;
  PyObject* headers = nullptr;
  PyObject* exc_info = Py_None;
  static const char* keywords[] = {"status", "headers", "exc_info", nullptr};
  Py_ssize_t nargs = PyTuple_GET_SIZE(args);
  if (kwargs == nullptr && (nargs == 2 || nargs == 3)) {
    // The usual call, positional: no argument parser.
    status = PyTuple_GET_ITEM(args, 0);
    headers = PyTuple_GET_ITEM(args, 1);
    if (nargs == 3) exc_info = PyTuple_GET_ITEM(args, 2);
  } else if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|O:start_response",
                                          const_cast<char**>(keywords), &status, &headers,
                                          &exc_info)) {
    return nullptr;
  }
  Callable* self = self_of(o);
  if (ended(self)) return nullptr;
  ResponseState& st = *self->state;
  if (exc_info != Py_None) {
    if (st.response.headers_sent()) {
      // PEP 3333: too late to change the response; re-raise the application's exception.
      PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
      if (!PyArg_ParseTuple(exc_info, "OOO", &type, &value, &tb)) return nullptr;
      Py_INCREF(type);
      Py_INCREF(value);
      PyErr_Restore(type, value, tb == Py_None ? nullptr : Py_NewRef(tb));
      return nullptr;
    }
  } else if (st.started) {
    PyErr_SetString(PyExc_AssertionError,
                    "start_response called a second time without providing exc_info.");
    return nullptr;
  }
  if (!PyUnicode_Check(status)) {
    PyErr_Format(PyExc_AssertionError, "status %R is not a string", status);
    return nullptr;
  }
  std::string status_text;
  if (!latin1(status, status_text)) return nullptr;
  const http::StatusProblem status_problem = http::status_problem(status_text);
  if (status_problem == http::StatusProblem::cr_or_lf) {
    PyErr_SetString(PyExc_ValueError, "carriage return/line feed character present in status");
    return nullptr;
  }
  PyRef seq = PyRef::steal(PySequence_Fast(headers, "headers must be a list"));
  if (!seq) return nullptr;
  std::optional<std::uint64_t> content_length;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.get());
  std::vector<Header> fields;
  // One allocation, with room for the Content-Length the server may add (send_result).
  fields.reserve(static_cast<std::size_t>(n) + 1);
  // The first field that is no token or has control bytes: refused after waitress's own
  // checks have passed on every field, as the status's form is.
  std::size_t misformed = 0;  // its index in `fields` when misformed_problem says one
  http::FieldProblem misformed_problem = http::FieldProblem::none;
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = PySequence_Fast_GET_ITEM(seq.get(), i);
    // Any (name, value) pair, a tuple or a two-item list, as waitress takes it.
    PyRef pair = PySequence_Check(item) && !PyUnicode_Check(item)
                     ? PyRef::steal(PySequence_Fast(item, "header is not a pair"))
                     : PyRef();
    if (!pair || PySequence_Fast_GET_SIZE(pair.get()) != 2) {
      PyErr_Clear();
      PyErr_Format(PyExc_AssertionError, "header %R is not a (name, value) tuple", item);
      return nullptr;
    }
    PyObject* name = PySequence_Fast_GET_ITEM(pair.get(), 0);
    PyObject* value = PySequence_Fast_GET_ITEM(pair.get(), 1);
    if (!PyUnicode_Check(name)) {
      PyErr_Format(PyExc_AssertionError, "Header name %R is not a string in %R", name, item);
      return nullptr;
    }
    if (!PyUnicode_Check(value)) {
      PyErr_Format(PyExc_AssertionError, "Header value %R is not a string in %R", value, item);
      return nullptr;
    }
    Header h;
    if (!latin1(name, h.name) || !latin1(value, h.value)) return nullptr;
    const http::FieldProblem problem = http::field_problem(h.name, h.value);
    if (problem == http::FieldProblem::cr_or_lf) {
      PyErr_SetString(PyExc_ValueError,
                      "carriage return/line feed character present in header name or value");
      return nullptr;
    }
    if (problem == http::FieldProblem::hop_by_hop) {
      PyErr_Format(PyExc_AssertionError,
                   "%s is a \"hop-by-hop\" header; it cannot be used by a WSGI application",
                   h.name.c_str());
      return nullptr;
    }
    if (iequals(h.name, "content-length")) {
      // Surrounding spaces and tabs are OWS (RFC 9110 §5.5), read as frame_response reads
      // the field it sends.
      content_length = http::parse_decimal(http::trim_ows(h.value));
      if (!content_length) {
        PyErr_Format(PyExc_ValueError, "invalid Content-Length %R", value);
        return nullptr;
      }
    }
    if (problem != http::FieldProblem::none && misformed_problem == http::FieldProblem::none) {
      misformed = fields.size();
      misformed_problem = problem;
    }
    fields.push_back(std::move(h));
  }
  // The rest of http::check_response_head's rules, checked now, as waitress checks its
  // own; the head goes to the Response once the body starts (commit_head), where a
  // Content-Length found from the result can still be added in place.
  if (status_problem == http::StatusProblem::malformed) {
    PyErr_Format(PyExc_ValueError, "status must be three digits, a space and a reason: \"%s\"",
                 status_text.c_str());
    return nullptr;
  }
  if (misformed_problem != http::FieldProblem::none) {
    PyErr_Format(PyExc_ValueError,
                 misformed_problem == http::FieldProblem::bad_name
                     ? "invalid header name \"%s\""
                     : "invalid value for header \"%s\"",
                 fields[misformed].name.c_str());
    return nullptr;
  }
  st.status = std::move(status_text);
  st.headers = std::move(fields);
  st.committed = false;
  st.started = true;
  st.content_length = content_length;
  PyObject* writer = new_callable(bridge_types().write_callable, &st);
  if (!writer || !keep_writer(self, writer)) {
    Py_XDECREF(writer);
    return nullptr;
  }
  return writer;
}

PyObject* write_body(PyObject* o, PyObject* args, PyObject* kwargs) {
  PyObject* data = nullptr;
  static const char* keywords[] = {"data", nullptr};
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O:write", const_cast<char**>(keywords), &data)) {
    return nullptr;
  }
  Callable* self = self_of(o);
  if (ended(self)) return nullptr;
  if (!write_chunk(bridge_types(), *self->state, data)) return nullptr;
  Py_RETURN_NONE;
}

// The tp_call slots: no C++ exception may cross into CPython (an allocation in the
// bodies above, say), so any becomes a Python exception here.
PyObject* python_error_of_current_exception() {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return PyErr_NoMemory();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  } catch (...) {
    // The thread was ended by CPython's pthread_exit (core/forced_unwind.hpp) from code
    // that the body called without hang_if_ended: it may not return into Python.
    if (core::caught_forced_unwind()) core::hang_ended_thread();
    PyErr_SetString(PyExc_RuntimeError, "unknown C++ exception");
  }
  return nullptr;
}

PyObject* start_response_call(PyObject* o, PyObject* args, PyObject* kwargs) {
  try {
    return start_response_body(o, args, kwargs);
  } catch (...) {
    return python_error_of_current_exception();
  }
}

PyObject* write_call(PyObject* o, PyObject* args, PyObject* kwargs) {
  try {
    return write_body(o, args, kwargs);
  } catch (...) {
    return python_error_of_current_exception();
  }
}

PyType_Slot start_slots[] = {
    {Py_tp_doc, const_cast<char*>("start_response(status, headers, exc_info=None) -> write")},
    {Py_tp_call, reinterpret_cast<void*>(start_response_call)},
    {Py_tp_dealloc, reinterpret_cast<void*>(callable_dealloc)},
    {0, nullptr},
};
PyType_Spec start_spec = {"waitron._waitron.StartResponse", sizeof(Callable), 0, Py_TPFLAGS_DEFAULT,
                          start_slots};

PyType_Slot write_slots[] = {
    {Py_tp_doc, const_cast<char*>("write(data): the body bytes, before the app_iter's")},
    {Py_tp_call, reinterpret_cast<void*>(write_call)},
    {Py_tp_dealloc, reinterpret_cast<void*>(callable_dealloc)},
    {0, nullptr},
};
PyType_Spec write_spec = {"waitron._waitron.Write", sizeof(Callable), 0, Py_TPFLAGS_DEFAULT,
                          write_slots};

// Sends one piece with the GIL released (unless inline); maps the server's exceptions to Python's.
bool send(const BridgeTypes& types, ResponseState& st, std::string_view bytes) {
  try {
    commit_head(st);
    AllowThreads unlocked(!st.keep_gil);
    st.response.write(bytes);
    return true;
  } catch (const ClientDisconnected&) {
    PyErr_SetString(types.client_disconnected, "client disconnected");
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return false;
}

}  // namespace

bool init_start_response_types(BridgeTypes& types) {
  types.start_response = PyType_FromSpec(&start_spec);
  types.write_callable = PyType_FromSpec(&write_spec);
  return types.start_response && types.write_callable;
}

PyObject* new_start_response(const BridgeTypes& types, ResponseState* state) {
  return new_callable(types.start_response, state);
}

void detach_start_response(PyObject* start_response) {
  Callable* c = self_of(start_response);
  c->state = nullptr;
  if (c->writer) self_of(c->writer)->state = nullptr;
  if (!c->writers) return;
  Py_ssize_t n = PyList_GET_SIZE(c->writers);
  for (Py_ssize_t i = 0; i < n; ++i) self_of(PyList_GET_ITEM(c->writers, i))->state = nullptr;
}

void set_content_length(ResponseState& st, std::uint64_t length) {
  // The application's own Content-Length fields give way to the one the server found.
  std::erase_if(st.headers, [](const Header& h) { return iequals(h.name, "content-length"); });
  st.headers.push_back(Header{"Content-Length", std::to_string(length)});
  st.content_length = length;
}

void commit_head(ResponseState& st) {
  if (st.committed) return;
  st.response.start(std::move(st.status), std::move(st.headers));
  st.committed = true;
}

bool write_chunk(const BridgeTypes& types, ResponseState& st, PyObject* chunk) {
  if (!st.started) {
    PyErr_SetString(PyExc_RuntimeError, "start_response was not called before body written");
    return false;
  }
  if (!PyBytes_Check(chunk)) {
    // waitress's order: the head goes out first, and a chunk the Content-Length leaves no
    // room for is dropped before its type is looked at.
    if (!send(types, st, std::string_view())) return false;
    if (st.content_length && st.written >= *st.content_length) return true;
    PyErr_Format(PyExc_TypeError, "response body chunks must be bytes, not %.200s",
                 Py_TYPE(chunk)->tp_name);
    return false;
  }
  Py_ssize_t n = PyBytes_GET_SIZE(chunk);
  if (n == 0) return true;  // empty chunks are skipped; the head waits for real bytes
  st.written += static_cast<std::uint64_t>(n);
  std::string_view bytes(PyBytes_AS_STRING(chunk), static_cast<std::size_t>(n));
  if (bytes.size() < kZeroCopyAbove) {
    // Copied: the bytes object is immutable and referenced by the caller while the GIL is
    // released.
    return send(types, st, bytes);
  }
  // Large chunks are adopted: the server keeps a reference until they are written.
  std::shared_ptr<const void> owner = hold(chunk);
  try {
    commit_head(st);
    AllowThreads unlocked(!st.keep_gil);
    st.response.write_shared(bytes, std::move(owner));
    return true;
  } catch (const ClientDisconnected&) {
    PyErr_SetString(types.client_disconnected, "client disconnected");
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return false;
}

}  // namespace waitron::python
