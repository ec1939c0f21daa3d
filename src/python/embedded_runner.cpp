#include "python/embedded_runner.hpp"

#include "python/py_ref.hpp"

#include <cstdio>

namespace waitron::python {

namespace {

// Where the package may be (configured by meson): the build tree, then the install.
constexpr const char* kPackageDirs[] = {WAITRON_PYTHON_BUILD_DIR, WAITRON_PYTHON_INSTALL_DIR};

constexpr const char* kBootstrap = R"PY(
import importlib, sys
def _waitron_main(dirs):
    try:
        importlib.import_module("waitron.runner")
    except ImportError:
        for d in dirs:
            if d not in sys.path:
                sys.path.append(d)
        importlib.invalidate_caches()
    from waitron.runner import run
    return run(sys.argv)
)PY";

}  // namespace

int run_embedded_runner(const std::vector<std::string>& argv) {
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.parse_argv = 0;  // the arguments are waitron-serve's, not the interpreter's
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  PyStatus status =
      PyConfig_SetBytesArgv(&config, static_cast<Py_ssize_t>(args.size()), args.data());
  if (!PyStatus_Exception(status)) status = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(status)) {
    std::fprintf(stderr, "Error: cannot start Python: %s\n", status.err_msg ? status.err_msg : "?");
    return 1;
  }
  int exit_status = 1;
  {
    PyRef globals = PyRef::steal(PyDict_New());
    PyRef builtins = PyRef::borrow(PyEval_GetBuiltins());
    PyRef dirs = PyRef::steal(PyList_New(0));
    for (const char* d : kPackageDirs) {
      PyRef s = PyRef::steal(PyUnicode_FromString(d));
      if (dirs && s) PyList_Append(dirs.get(), s.get());
    }
    if (globals && PyDict_SetItemString(globals.get(), "__builtins__", builtins.get()) == 0) {
      PyRef done =
          PyRef::steal(PyRun_String(kBootstrap, Py_file_input, globals.get(), globals.get()));
      PyObject* main = done ? PyDict_GetItemString(globals.get(), "_waitron_main") : nullptr;
      PyRef result = main ? PyRef::steal(PyObject_CallOneArg(main, dirs.get())) : PyRef();
      if (result) {
        exit_status = result.get() == Py_None ? 0 : static_cast<int>(PyLong_AsLong(result.get()));
        if (PyErr_Occurred()) exit_status = 1;
      }
      if (PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_SystemExit)) {
          PyObject *type, *value, *tb;
          PyErr_Fetch(&type, &value, &tb);
          PyRef v = PyRef::steal(value), t = PyRef::steal(type), b = PyRef::steal(tb);
          PyRef code = v ? PyRef::steal(PyObject_GetAttrString(v.get(), "code")) : PyRef();
          exit_status = code && PyLong_Check(code.get())
                            ? static_cast<int>(PyLong_AsLong(code.get()))
                        : code && code.get() == Py_None ? 0
                                                        : 1;
          PyErr_Clear();
        } else {
          PyErr_Print();
          exit_status = 1;
        }
      }
    }
  }
  if (Py_FinalizeEx() < 0 && exit_status == 0) exit_status = 120;
  return exit_status;
}

}  // namespace waitron::python
