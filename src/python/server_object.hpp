// _waitron.Server: a waitron::Server running a WSGI application, for the Python package.
//
//   Server(app, options)   converts and checks the options (waitress's rules), binds and
//                          listens, starts the application threads; no loop runs yet
//   .run(handle_signals=True)  runs the server's own libuv loop in the calling thread with
//                          the GIL released, until close() completes; on the main thread
//                          SIGINT/SIGTERM close it gracefully (Python's handlers are put
//                          back afterwards) and run() returns normally, as waitress's does
//   .close()               any thread; while run() runs it asks the loop (uv_async_t) and
//                          returns; otherwise it closes the server itself before returning
//   .addresses()           [(host, port, fd)], .adjustments (dict), .warnings (list)
//
// Each Python server owns a loop of its own; the loop thread never takes the GIL (log lines
// go through a LogForwarder). Threads: Python calls hold the GIL; run() and close() release
// it while the loop runs.
#pragma once

#include "python/py_ref.hpp"

namespace waitron::python {

PyObject* make_server_type();

// serve_demo(options): serves waitron's built-in native demo app (the command line with no
// application), printing the banner, until SIGINT/SIGTERM. Blocks; returns None.
PyObject* serve_demo(PyObject* server_type, PyObject* options);

}  // namespace waitron::python
