// A Python WSGI application as a waitron::App (PEP 3333 and waitress's task.py).
//
// handle() runs on an application thread: it takes the GIL, builds the environ, calls
// app(environ, start_response), sends the result (a wsgi.file_wrapper over a regular file
// by sendfile from its current position; anything else chunk by chunk, Content-Length
// divined for a one-item result), and always calls the result's close(). The GIL is
// released while the server takes a chunk (which may wait for a slow client). A Python
// exception becomes a C++ exception after the GIL is released, so the task answers 500
// (with the traceback when expose_tracebacks) or cuts the response, and logs it;
// waitron.ClientDisconnected becomes waitron::ClientDisconnected.
//
// Ownership: holds a strong reference to the application, released with the GIL when the
// WsgiApp is destroyed. Threads: handle() on application threads, concurrently.
#pragma once

#include "python/py_ref.hpp"

#include <string>

#include <waitron/app.hpp>

namespace waitron::python {

struct WsgiSettings {
  // waitress: with log_socket_errors off, an OSError raised by the application is
  // swallowed: no 500, no log line, the connection closes.
  bool log_socket_errors = true;
  // threads=0: the application runs on the loop thread, where a write never waits.
  bool inline_calls = false;
};

class WsgiApp final : public App {
 public:
  // `app` is borrowed; call with the GIL held.
  WsgiApp(PyObject* app, WsgiSettings settings);
  ~WsgiApp() override;
  WsgiApp(const WsgiApp&) = delete;
  WsgiApp& operator=(const WsgiApp&) = delete;

  void handle(Request& request, Response& response) override;

 private:
  PyObject* app_;  // owned
  WsgiSettings settings_;
  PyInterpreterState* interpreter_;
};

}  // namespace waitron::python
