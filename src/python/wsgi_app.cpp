#include "python/wsgi_app.hpp"

#include <sys/stat.h>

#include <stdexcept>

#include "core/forced_unwind.hpp"
#include "python/bridge_types.hpp"
#include "python/deferred_release.hpp"
#include "python/environ.hpp"
#include "python/file_wrapper.hpp"
#include "python/input_stream.hpp"
#include "python/start_response.hpp"

namespace waitron::python {

namespace {

// The current exception's traceback text (consumed).
std::string format_current_exception(const BridgeTypes& types) {
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  PyRef t = PyRef::steal(type), v = PyRef::steal(value), b = PyRef::steal(tb);
  if (!t) return "unknown error";
  PyRef lines = PyRef::steal(core::hang_if_ended([&] {
    return PyObject_CallFunctionObjArgs(types.format_exception, t.get(), v ? v.get() : Py_None,
                                        b ? b.get() : Py_None, nullptr);
  }));
  PyRef empty = PyRef::steal(PyUnicode_FromString(""));
  PyRef text = lines && empty ? PyRef::steal(PyUnicode_Join(empty.get(), lines.get())) : PyRef();
  const char* utf8 = text ? PyUnicode_AsUTF8(text.get()) : nullptr;
  std::string out = utf8 ? utf8 : "unformattable exception";
  PyErr_Clear();
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// hasattr(o, name) and o.name(): a file-like object's own code may run in them, where
// CPython may end the thread while the interpreter finalizes (core/forced_unwind.hpp).
bool has_attribute(PyObject* o, const char* name) {
  return core::hang_if_ended([=] { return PyObject_HasAttrString(o, name) == 1; });
}
PyObject* call_method(PyObject* o, const char* name) {
  return core::hang_if_ended([=] { return PyObject_CallMethod(o, name, nullptr); });
}

// 1: sent with sendfile; 0: not a regular seekable file, iterate instead; -1: error set.
int try_sendfile(const BridgeTypes& types, ResponseState& st, PyObject* filelike) {
  if (!st.started || !has_attribute(filelike, "fileno")) return 0;
  if (has_attribute(filelike, "seekable")) {
    PyRef seekable = PyRef::steal(call_method(filelike, "seekable"));
    if (!seekable || PyObject_IsTrue(seekable.get()) != 1) {
      PyErr_Clear();
      return 0;
    }
  } else if (!has_attribute(filelike, "seek") || !has_attribute(filelike, "tell")) {
    return 0;
  }
  PyRef fileno = PyRef::steal(call_method(filelike, "fileno"));
  PyRef tell = fileno ? PyRef::steal(call_method(filelike, "tell")) : PyRef();
  long fd = tell ? PyLong_AsLong(fileno.get()) : -1;
  long long pos = tell ? PyLong_AsLongLong(tell.get()) : -1;
  if (fd < 0 || pos < 0 || PyErr_Occurred()) {
    PyErr_Clear();
    return 0;
  }
  struct stat sb {};
  if (fstat(static_cast<int>(fd), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= pos) return 0;
  std::uint64_t size = static_cast<std::uint64_t>(sb.st_size - pos);
  try {
    // waitress: an application Content-Length shorter than the file is honoured; any other
    // mismatch is corrected to the bytes actually sent.
    if (st.content_length && *st.content_length < size) size = *st.content_length;
    // The length can be set only while the head is unsent (not after a write()).
    if (!st.committed && (!st.content_length || *st.content_length != size)) {
      set_content_length(st, size);
    }
    commit_head(st);
    AllowThreads unlocked(!st.keep_gil);
    st.response.send_file(static_cast<int>(fd), static_cast<std::uint64_t>(pos), size);
  } catch (const ClientDisconnected&) {
    PyErr_SetString(types.client_disconnected, "client disconnected");
    return -1;
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
    return -1;
  }
  return 1;
}

// Whether len() applies to the object: its type's slots, as len() itself decides (a
// result without __len__, such as a framework's iterator, costs no failed attribute
// lookup and no AttributeError made and cleared).
bool has_len(PyObject* o) noexcept {
  const PyTypeObject* type = Py_TYPE(o);
  return (type->tp_as_sequence && type->tp_as_sequence->sq_length) ||
         (type->tp_as_mapping && type->tp_as_mapping->mp_length);
}

// The object's attribute `name`, or null without an error when it has none; null with
// the error set when the lookup itself failed.
PyObject* optional_attribute(PyObject* o, PyObject* name, bool& failed) {
  PyObject* found = nullptr;
#if PY_VERSION_HEX >= 0x030D0000
  failed = PyObject_GetOptionalAttr(o, name, &found) < 0;
#else
  failed = _PyObject_LookupAttr(o, name, &found) < 0;
#endif
  return found;
}

// Sends the application's result; false with a Python exception set.
bool send_result(const BridgeTypes& types, ResponseState& st, PyObject* result) {
  if (PyObject* filelike = file_wrapper_filelike(types.file_wrapper, result)) {
    int sent = try_sendfile(types, st, filelike);
    if (sent != 0) return sent > 0;
  }
  // waitress: a result whose len() is 1 gets a Content-Length from its only chunk.
  Py_ssize_t length = -1;
  if (PyList_CheckExact(result) || PyTuple_CheckExact(result)) {
    length = PySequence_Fast_GET_SIZE(result);  // the usual result: no attribute lookup
  } else if (has_len(result)) {
    length = core::hang_if_ended([result] { return PyObject_Length(result); });
    if (length < 0) PyErr_Clear();
  }
  bool divine = length == 1 && st.started && !st.content_length;
  // The result's own code (a generator's, say) runs in these calls: CPython may end the
  // thread there while the interpreter finalizes (core/forced_unwind.hpp).
  PyRef it = PyRef::steal(core::hang_if_ended([result] { return PyObject_GetIter(result); }));
  if (!it) return false;
  const auto next = [&it] { return PyIter_Next(it.get()); };
  while (PyRef chunk = PyRef::steal(core::hang_if_ended(next))) {
    if (divine && PyBytes_Check(chunk.get()) && PyBytes_GET_SIZE(chunk.get()) > 0 &&
        !st.committed) {
      try {
        set_content_length(st, static_cast<std::uint64_t>(PyBytes_GET_SIZE(chunk.get())));
      } catch (const std::exception& e) {  // out of memory: the callables are detached after
        PyErr_SetString(PyExc_RuntimeError, e.what());
        return false;
      }
    }
    divine = false;
    if (!write_chunk(types, st, chunk.get())) return false;
  }
  return !PyErr_Occurred();
}

// Calls the application and sends its result, then always calls the result's close(),
// keeping the first error. False with a Python exception set.
bool run_app(const BridgeTypes& types, PyObject* app, ResponseState& st, PyObject* environ,
             PyObject* start_response) {
  PyRef result = PyRef::steal(core::hang_if_ended(
      [=] { return PyObject_CallFunctionObjArgs(app, environ, start_response, nullptr); }));
  if (!result) return false;
  bool ok = send_result(types, st, result.get());
  // The first error is set aside before anything else runs (an attribute lookup may not
  // run with an exception pending).
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  // A list or tuple has no close(): the usual result skips the lookup. Otherwise one
  // lookup of the interned name, then a call of what it found.
  bool plain = PyList_CheckExact(result.get()) || PyTuple_CheckExact(result.get());
  bool lookup_failed = false;
  PyRef close = plain ? PyRef() : PyRef::steal(core::hang_if_ended([&] {
    return optional_attribute(result.get(), types.close_name, lookup_failed);
  }));
  // As waitress's hasattr(): no close is no call, and a lookup failing otherwise than with
  // AttributeError is an error of its own, as close() failing is.
  if (close || lookup_failed) {
    PyRef closed = close ? PyRef::steal(core::hang_if_ended(
                               [&close] { return PyObject_CallNoArgs(close.get()); }))
                         : PyRef();
    if (!closed) {
      if (type)
        PyErr_Clear();  // the first error wins
      else
        ok = false;  // the lookup or close() itself failed: its error stays set
    }
  }
  if (type) PyErr_Restore(type, value, tb);
  return ok;
}

// Each application thread keeps one Python thread state for its whole life, created on its
// first request: threading.local data and per-thread caches (database connections, say)
// survive from one request to the next, as on waitress's threads. It is deleted when the
// thread ends, with the GIL, if the interpreter is still alive.
struct AppThreadState {
  PyThreadState* state = nullptr;
  ~AppThreadState() {
    if (state && Py_IsInitialized() && !interpreter_finalizing()) {
      core::hang_if_ended([this] { PyEval_RestoreThread(state); });
      PyThreadState_Clear(state);
      PyThreadState_DeleteCurrent();
    }
  }
};
thread_local AppThreadState t_app_thread;

// Holds the GIL for a request with the thread's own thread state. A thread Python already
// knows, such as the loop thread in inline mode (threads=0), which is the thread that called
// run() and released the GIL, uses its existing thread state through PyGILState, so that
// code calling PyGILState_Ensure() inside the application finds the same state.
class AppThreadGil {
 public:
  explicit AppThreadGil(PyInterpreterState* interpreter) {
    if (!t_app_thread.state && PyGILState_GetThisThreadState() != nullptr) {
      known_thread_ = true;
      gil_state_ = core::hang_if_ended(PyGILState_Ensure);
      return;
    }
    if (!t_app_thread.state) t_app_thread.state = PyThreadState_New(interpreter);
    core::hang_if_ended([] { PyEval_RestoreThread(t_app_thread.state); });
  }
  ~AppThreadGil() {
    hang_unless_gil_held();
    if (known_thread_) {
      PyGILState_Release(gil_state_);
    } else {
      PyEval_SaveThread();
    }
  }
  AppThreadGil(const AppThreadGil&) = delete;
  AppThreadGil& operator=(const AppThreadGil&) = delete;

 private:
  bool known_thread_ = false;
  PyGILState_STATE gil_state_{};
};

}  // namespace

WsgiApp::WsgiApp(PyObject* app, WsgiSettings settings)
    : app_(Py_NewRef(app)),
      settings_(std::move(settings)),
      interpreter_(PyInterpreterState_Get()) {}

WsgiApp::~WsgiApp() {
  if (!Py_IsInitialized()) return;  // the interpreter is gone: nothing to release
  Gil gil;
  release_pending();
  Py_DECREF(app_);
}

void WsgiApp::handle(Request& request, Response& response) {
  std::string failure;
  bool disconnected = false;
  bool swallowed = false;
  // A thread asking for the GIL while the interpreter finalizes is ended by CPython
  // (pthread_exit), which must not unwind through the server: give up on the request.
  if (interpreter_finalizing()) throw ClientDisconnected();
  {
    AppThreadGil gil(interpreter_);
    release_pending();  // references the loop thread let go of since the last request
    const BridgeTypes& types = bridge_types();
    ResponseState st(response, settings_.inline_calls);
    PyRef start = PyRef::steal(new_start_response(types, &st));
    PyRef check = start ? PyRef::steal(new_disconnect_check(types, &request)) : PyRef();
    PyRef input = check ? PyRef::steal(new_input_stream(types.input_stream, request.body().share()))
                        : PyRef();
    PyRef environ =
        input ? PyRef::steal(build_environ(types, request, input.get(), check.get())) : PyRef();
    bool ok = environ && run_app(types, app_, st, environ.get(), start.get());
    if (ok && st.started) {
      // A response with no body bytes: the head is handed over now, sent at finish().
      try {
        commit_head(st);
      } catch (const std::exception& e) {
        PyErr_SetString(PyExc_RuntimeError, e.what());
        ok = false;
      }
    }
    if (start) detach_start_response(start.get());
    if (check) detach_disconnect_check(check.get());
    if (!ok) {
      if (PyErr_ExceptionMatches(types.client_disconnected)) {
        PyErr_Clear();
        disconnected = true;
      } else if (!settings_.log_socket_errors && PyErr_ExceptionMatches(PyExc_OSError)) {
        PyErr_Clear();
        swallowed = true;
      } else {
        failure = format_current_exception(types);
      }
    }
  }
  // Thrown without the GIL: the task logs and answers.
  if (disconnected) throw ClientDisconnected();
  if (swallowed) throw ResponseAbandoned();
  if (!failure.empty()) throw std::runtime_error(failure);
}

}  // namespace waitron::python
