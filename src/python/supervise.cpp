#include "python/supervise.hpp"

#include <unistd.h>

#include <system_error>

#include "python/log_forwarder.hpp"
#include "python/python_values.hpp"
#include "runner/supervisor.hpp"

namespace waitron::python {

namespace {

PyObject* fd_list(const std::vector<int>& fds) {
  PyRef list = PyRef::steal(PyList_New(0));
  for (int fd : fds) {
    PyRef item = PyRef::steal(PyLong_FromLong(fd));
    if (!list || !item || PyList_Append(list.get(), item.get()) < 0) return nullptr;
  }
  return list.release();
}

}  // namespace

PyObject* supervise(PyObject*, PyObject* options) {
  std::vector<NamedOption> named;
  if (!options_from_python(options, named)) return nullptr;
  Adjustments adj;
  try {
    adj = make_adjustments(named);
    runner::check_worker_options(adj);
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
    return nullptr;
  }
  if (!runner::wants_workers(adj)) Py_RETURN_NONE;
  std::vector<int> fds;
  try {
    fds = runner::open_worker_sockets(adj);
  } catch (const std::system_error& e) {
    PyErr_SetObject(PyExc_OSError,
                    PyRef::steal(Py_BuildValue("(is)", e.code().value(), e.what())).get());
    return nullptr;
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
    return nullptr;
  }
  PyRef logging = PyRef::steal(PyImport_ImportModule("logging"));
  PyRef logger = logging
                     ? PyRef::steal(PyObject_CallMethod(logging.get(), "getLogger", "s", "waitron"))
                     : PyRef();
  if (!logger) {
    for (int fd : fds) ::close(fd);
    return nullptr;
  }
  runner::SupervisorSettings settings = runner::supervisor_settings(adj, fds);
  settings.log = [&logger](core::LogLevel level, const std::string& message) {
    log_to_python(logger.get(), static_cast<LogLevel>(level), message);
  };
  settings.before_fork = [] { PyOS_BeforeFork(); };
  settings.after_fork_parent = [] { PyOS_AfterFork_Parent(); };
  settings.after_fork_child = [] { PyOS_AfterFork_Child(); };
  runner::SuperviseResult result = runner::supervise(settings);
  if (result.is_worker) {
    PyRef list = PyRef::steal(fd_list(fds));
    return list ? Py_BuildValue("(sO)", "worker", list.get()) : nullptr;
  }
  return Py_BuildValue("(si)", "exit", result.exit_status);
}

}  // namespace waitron::python
