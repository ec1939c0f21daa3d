#include "python/server_object.hpp"

#include <uv.h>

#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <system_error>
#include <utility>

#include <waitron/server.hpp>

#include "python/deferred_release.hpp"
#include "python/log_forwarder.hpp"
#include "python/python_values.hpp"
#include "python/wsgi_app.hpp"
#include "runner/demo_app.hpp"
#include "runner/worker_process.hpp"

namespace waitron::python {

namespace {

// Everything of one Python server that is not a Python object.
struct Impl {
  uv_loop_t loop{};
  uv_async_t wake{};
  uv_signal_t signals[3]{};                     // SIGINT, SIGTERM, and SIGUSR1 with an access log
  int signals_open = 0;                         // how many of them run() started
  std::vector<ListenAddress> addresses;         // a copy, safe to read from any thread
  std::vector<ListenAddress> status_addresses;  // the same, of the status listener
  int signals_received = 0;                     // loop thread only
  std::unique_ptr<LogForwarder> log;
  std::unique_ptr<Server> server;
  Adjustments adjustments;
  std::vector<std::string> warnings;
  std::mutex mutex;      // guards the three flags
  bool running = false;  // run() is in uv_run
  bool closing = false;  // a close has started
  bool closed = false;   // the loop is closed

  // Loop thread: starts the graceful close; uv_run returns once every handle is closed.
  void begin_close() {
    server->close([this] {
      uv_close(reinterpret_cast<uv_handle_t*>(&wake), nullptr);
      for (int i = 0; i < signals_open; ++i) {
        uv_close(reinterpret_cast<uv_handle_t*>(&signals[i]), nullptr);
      }
      signals_open = 0;
    });
  }

  // Without the GIL, after uv_run returned: frees the loop and flushes the log.
  void finish() {
    uv_loop_close(&loop);
    log->stop();
    std::lock_guard lock(mutex);
    closed = true;
    running = false;
  }
};

struct ServerObject {
  PyObject_HEAD Impl* impl;
};

Impl* impl_of(PyObject* o) {
  return reinterpret_cast<ServerObject*>(o)->impl;
}

void on_wake(uv_async_t* handle) {
  auto* impl = static_cast<Impl*>(handle->data);
  bool start;
  {
    std::lock_guard lock(impl->mutex);
    start = !impl->closing;
    impl->closing = true;
  }
  if (start) impl->begin_close();
}

void on_signal(uv_signal_t* handle, int) {
  auto* impl = static_cast<Impl*>(handle->data);
  // A second signal exits at once, as waitron-serve's does: a request stuck in the
  // application would otherwise keep the process alive.
  // A worker process leaves that to its supervisor (runner/worker_process.hpp).
  if (++impl->signals_received > 1) {
    if (runner::in_worker()) return;
    std::_Exit(1);
  }
  uv_async_send(&impl->wake);  // the same path as close()
}

// Who applies the proxy headers (trusted_proxy and the options after it).
enum class ProxyHeaders {
  // The C++ server, as for every native App (src/pipeline/proxy_headers).
  server,
  // The caller: it wraps the WSGI application in waitron.proxy_headers itself (as waitress
  // does), so the C++ server is given the options without them, or the headers would be
  // applied twice. The default of _waitron.Server(app, options); waitron.server's servers
  // pass proxy_headers="server" and keep the wrapped application as their `application`
  // attribute only (the C++ rules are checked against the middleware's by
  // tests/python/test_proxy_headers_native.py, and cost no Python call per request).
  python,
};

Adjustments for_server(Adjustments adj, ProxyHeaders proxy_headers) {
  if (proxy_headers == ProxyHeaders::python) {
    adj.trusted_proxy.reset();
    adj.trusted_proxy_count.reset();
    adj.trusted_proxy_headers.clear();
    adj.clear_untrusted_proxy_headers = false;
    adj.log_untrusted_proxy_headers = false;
  }
  return adj;
}

void on_reopen_signal(uv_signal_t* handle, int) {
  static_cast<Impl*>(handle->data)->server->reopen_access_log();
}

// Creates a server object serving `make_app(adjustments)`; null with an exception set.
template <typename MakeApp>
PyObject* create_server_object(PyTypeObject* type, PyObject* options, ProxyHeaders proxy_headers,
                               MakeApp make_app) {
  std::vector<NamedOption> named;
  if (!options_from_python(options, named)) return nullptr;
  auto impl = std::make_unique<Impl>();
  try {
    impl->adjustments = make_adjustments(named, &impl->warnings);
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
    return nullptr;
  }
  // In a worker process, requests are counted for max_requests.
  std::shared_ptr<App> app = runner::worker_app(make_app(impl->adjustments));
  impl->log = std::make_unique<LogForwarder>();
  int rc = uv_loop_init(&impl->loop);
  if (rc == 0) {
    rc = uv_async_init(&impl->loop, &impl->wake, on_wake);
    if (rc != 0) uv_loop_close(&impl->loop);
  }
  if (rc != 0) {  // out of descriptors, typically
    impl->log->stop();
    PyErr_SetObject(PyExc_OSError, PyRef::steal(Py_BuildValue("(is)", -rc, uv_strerror(rc))).get());
    return nullptr;
  }
  impl->wake.data = impl.get();
  std::string error;
  int error_number = 0;
  {
    AllowThreads unlocked;
    try {
      impl->server = std::make_unique<Server>(
          &impl->loop, for_server(impl->adjustments, proxy_headers), app, impl->log->sink());
      impl->server->start();
    } catch (const std::system_error& e) {
      error = e.what();
      error_number = e.code().value();
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty()) {
      if (impl->server) impl->server->close();
      uv_close(reinterpret_cast<uv_handle_t*>(&impl->wake), nullptr);
      uv_run(&impl->loop, UV_RUN_DEFAULT);
      impl->server.reset();
      uv_loop_close(&impl->loop);
      impl->log->stop();
    } else {
      // The addresses never change; a copy lets any thread read them while the loop runs.
      impl->addresses = impl->server->addresses();
      impl->status_addresses = impl->server->status_addresses();
    }
  }
  if (!error.empty()) {
    if (error_number != 0) {
      PyErr_SetObject(PyExc_OSError,
                      PyRef::steal(Py_BuildValue("(is)", error_number, error.c_str())).get());
    } else {
      PyErr_SetString(PyExc_ValueError, error.c_str());
    }
    return nullptr;
  }
  PyObject* o = type->tp_alloc(type, 0);
  if (!o) {
    // Let the server close on its own loop before freeing it.
    AllowThreads unlocked;
    impl->begin_close();
    uv_run(&impl->loop, UV_RUN_DEFAULT);
    impl->finish();
    return nullptr;
  }
  reinterpret_cast<ServerObject*>(o)->impl = impl.release();
  return o;
}

PyObject* server_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
  PyObject* app = nullptr;
  PyObject* options = nullptr;
  const char* proxy = "python";
  static const char* keywords[] = {"app", "options", "proxy_headers", nullptr};
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|$s:Server", const_cast<char**>(keywords), &app,
                                   &options, &proxy)) {
    return nullptr;
  }
  const std::string_view proxy_name = proxy;
  if (proxy_name != "python" && proxy_name != "server") {
    PyErr_SetString(PyExc_ValueError, "proxy_headers must be \"python\" or \"server\"");
    return nullptr;
  }
  if (!PyCallable_Check(app)) {
    PyErr_SetString(PyExc_TypeError, "the WSGI application must be callable");
    return nullptr;
  }
  const ProxyHeaders who = proxy_name == "server" ? ProxyHeaders::server : ProxyHeaders::python;
  return create_server_object(type, options, who, [app](const Adjustments& adj) {
    return std::make_shared<WsgiApp>(app, WsgiSettings{adj.log_socket_errors, adj.threads == 0});
  });
}

bool on_main_thread() {
  PyRef threading = PyRef::steal(PyImport_ImportModule("threading"));
  PyRef current =
      threading ? PyRef::steal(PyObject_CallMethod(threading.get(), "current_thread", nullptr))
                : PyRef();
  PyRef main = threading
                   ? PyRef::steal(PyObject_CallMethod(threading.get(), "main_thread", nullptr))
                   : PyRef();
  bool yes = current && main && current.get() == main.get();
  PyErr_Clear();
  return yes;
}

PyObject* server_run(PyObject* o, PyObject* args, PyObject* kwargs) {
  int handle_signals = 1;
  static const char* keywords[] = {"handle_signals", nullptr};
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|p:run", const_cast<char**>(keywords),
                                   &handle_signals)) {
    return nullptr;
  }
  Impl* impl = impl_of(o);
  {
    std::lock_guard lock(impl->mutex);
    if (impl->closed || impl->closing) Py_RETURN_NONE;
    if (impl->running) {
      PyErr_SetString(PyExc_RuntimeError, "the server is already running");
      return nullptr;
    }
    impl->running = true;
  }
  bool signals = handle_signals && on_main_thread();
  struct sigaction saved[3]{};
  const int numbers[3] = {SIGINT, SIGTERM, SIGUSR1};
  // SIGUSR1 reopens the access log (log rotation); without one it keeps Python's handler.
  const int count = impl->adjustments.access_log ? 3 : 2;
  {
    AllowThreads unlocked;
    if (signals) {
      for (int i = 0; i < count; ++i) {
        sigaction(numbers[i], nullptr, &saved[i]);
        // uv_signal_init cannot fail once the loop is up; start may (then no handler).
        uv_signal_init(&impl->loop, &impl->signals[i]);
        impl->signals[i].data = impl;
        if (uv_signal_start(&impl->signals[i], i < 2 ? on_signal : on_reopen_signal, numbers[i]) !=
            0) {
          sigaction(numbers[i], &saved[i], nullptr);
        }
      }
      impl->signals_open = count;
    }
    // In a worker process: its supervisor may count on it now, and forward SIGUSR1.
    runner::worker_ready();
    uv_run(&impl->loop, UV_RUN_DEFAULT);
    if (signals) {
      // libuv leaves the default disposition behind; Python's handlers come back.
      for (int i = 0; i < count; ++i) sigaction(numbers[i], &saved[i], nullptr);
    }
    impl->finish();
  }
  release_pending();
  Py_RETURN_NONE;
}

PyObject* server_close(PyObject* o, PyObject*) {
  Impl* impl = impl_of(o);
  {
    std::lock_guard lock(impl->mutex);
    if (impl->closed || impl->closing) Py_RETURN_NONE;
    if (impl->running) {
      uv_async_send(&impl->wake);  // the loop thread starts the close; run() then returns
      Py_RETURN_NONE;
    }
    impl->closing = true;
  }
  {
    // Nobody runs the loop: this thread does, until the server is closed.
    AllowThreads unlocked;
    impl->begin_close();
    uv_run(&impl->loop, UV_RUN_DEFAULT);
    impl->finish();
  }
  release_pending();
  Py_RETURN_NONE;
}

PyObject* server_addresses(PyObject* o, PyObject*) {
  PyRef out = PyRef::steal(PyList_New(0));
  if (!out) return nullptr;
  for (const ListenAddress& a : impl_of(o)->addresses) {
    PyRef item = PyRef::steal(Py_BuildValue("(ssi)", a.host.c_str(), a.port.c_str(), a.fd));
    if (!item || PyList_Append(out.get(), item.get()) < 0) return nullptr;
  }
  return out.release();
}

PyObject* server_status_addresses(PyObject* o, PyObject*) {
  PyRef out = PyRef::steal(PyList_New(0));
  if (!out) return nullptr;
  for (const ListenAddress& a : impl_of(o)->status_addresses) {
    PyRef item = PyRef::steal(Py_BuildValue("(ssi)", a.host.c_str(), a.port.c_str(), a.fd));
    if (!item || PyList_Append(out.get(), item.get()) < 0) return nullptr;
  }
  return out.release();
}

// stats() -> dict: Server::stats() reads atomic counters, so any thread may ask, while
// run() serves on another.
PyObject* server_stats(PyObject* o, PyObject*) {
  Impl* impl = impl_of(o);
  ServerStats s = impl->server->stats();
  const std::pair<const char*, std::uint64_t> items[] = {
      {"connections_open", s.connections_open},
      {"connections_accepted", s.connections_accepted},
      {"requests_in_flight", s.requests_in_flight},
      {"requests_served", s.requests_served},
      {"queue_depth", s.queue_depth},
      {"busy_threads", s.busy_threads},
      {"bytes_received", s.bytes_received},
      {"bytes_sent", s.bytes_sent},
      {"access_log_lines", s.access_log_lines},
      {"access_log_dropped", s.access_log_dropped},
  };
  PyRef out = PyRef::steal(PyDict_New());
  if (!out) return nullptr;
  for (const auto& [name, value] : items) {
    PyRef number = PyRef::steal(PyLong_FromUnsignedLongLong(value));
    if (!number || PyDict_SetItemString(out.get(), name, number.get()) < 0) return nullptr;
  }
  return out.release();
}

PyObject* server_reopen_access_log(PyObject* o, PyObject*) {
  impl_of(o)->server->reopen_access_log();  // queues the reopen for the log's own thread
  Py_RETURN_NONE;
}

PyObject* server_adjustments(PyObject* o, void*) {
  return adjustments_to_python(impl_of(o)->adjustments);
}

PyObject* server_warnings(PyObject* o, void*) {
  PyRef out = PyRef::steal(PyList_New(0));
  for (const std::string& w : impl_of(o)->warnings) {
    PyRef s = PyRef::steal(PyUnicode_FromString(w.c_str()));
    if (!s || PyList_Append(out.get(), s.get()) < 0) return nullptr;
  }
  return out.release();
}

void server_dealloc(PyObject* o) {
  Impl* impl = impl_of(o);
  if (impl) {
    bool close;
    {
      std::lock_guard lock(impl->mutex);
      close = !impl->closed && !impl->closing;
      if (close) impl->closing = true;
    }
    AllowThreads unlocked;
    if (close) {
      impl->begin_close();
      uv_run(&impl->loop, UV_RUN_DEFAULT);
      impl->finish();
    }
    delete impl;
  }
  PyTypeObject* type = Py_TYPE(o);
  type->tp_free(o);
  Py_DECREF(type);
}

PyMethodDef server_methods[] = {
    {"run", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(server_run)),
     METH_VARARGS | METH_KEYWORDS, "run(handle_signals=True): serve until closed"},
    {"close", server_close, METH_NOARGS, "close(): stop gracefully (any thread)"},
    {"addresses", server_addresses, METH_NOARGS, "addresses() -> [(host, port, fd)]"},
    {"status_addresses", server_status_addresses, METH_NOARGS,
     "status_addresses() -> [(host, port, fd)] of the status listener (status_listen)"},
    {"stats", server_stats, METH_NOARGS, "stats() -> dict of the live counters (any thread)"},
    {"reopen_access_log", server_reopen_access_log, METH_NOARGS,
     "reopen_access_log(): reopen the access log file (log rotation; any thread)"},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef server_getset[] = {
    {"adjustments", server_adjustments, nullptr, nullptr, nullptr},
    {"warnings", server_warnings, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot server_slots[] = {
    {Py_tp_doc, const_cast<char*>("Server(app, options): waitron serving a WSGI application")},
    {Py_tp_new, reinterpret_cast<void*>(server_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(server_dealloc)},
    {Py_tp_methods, server_methods},
    {Py_tp_getset, server_getset},
    {0, nullptr},
};

PyType_Spec server_spec = {"waitron._waitron.Server", sizeof(ServerObject), 0, Py_TPFLAGS_DEFAULT,
                           server_slots};

}  // namespace

PyObject* make_server_type() {
  return PyType_FromSpec(&server_spec);
}

PyObject* serve_demo(PyObject* server_type, PyObject* options) {
  PyRef server = PyRef::steal(create_server_object(
      reinterpret_cast<PyTypeObject*>(server_type), options, ProxyHeaders::server,
      [](const Adjustments&) { return runner::make_demo_app(); }));
  if (!server) return nullptr;
  // The banner, as serve() prints it for a WSGI application.
  PyRef logging = PyRef::steal(PyImport_ImportModule("logging"));
  PyRef logger = logging
                     ? PyRef::steal(PyObject_CallMethod(logging.get(), "getLogger", "s", "waitron"))
                     : PyRef();
  if (!logger) return nullptr;
  for (const ListenAddress& a : impl_of(server.get())->addresses) {
    PyRef done = PyRef::steal(
        PyObject_CallMethod(logger.get(), "info", "ss", "Serving on %s", a.url().c_str()));
    if (!done) return nullptr;
  }
  PyRef args = PyRef::steal(PyTuple_New(0));
  return args ? server_run(server.get(), args.get(), nullptr) : nullptr;
}

}  // namespace waitron::python
