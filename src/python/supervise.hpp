// _waitron.supervise(options): worker processes for the Python package's runner, with the
// supervisor of waitron-serve (src/runner/supervisor.hpp).
//
//   supervise(options) -> None                 the options ask for one plain process
//                      -> ("exit", status)     in the supervisor, after it is done
//                      -> ("worker", [fds])    in each forked worker: serve these sockets
//
// The options are the runner's (name, value) pairs. A bad value raises ValueError, a
// socket that cannot be bound OSError, before anything is forked. The supervisor's log
// lines go to the logger "waitron". The GIL is held throughout: the supervisor's process
// must have no other thread; fork() is wrapped in PyOS_BeforeFork/PyOS_AfterFork_*.
// Threads: the main thread.
#pragma once

#include "python/py_ref.hpp"

namespace waitron::python {

PyObject* supervise(PyObject* module, PyObject* options);

}  // namespace waitron::python
