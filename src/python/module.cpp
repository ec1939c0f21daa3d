// The _waitron extension module: the C++ side of the Python package `waitron`. This file is
// the extension's composition root: it registers the bridge's types and exposes the config
// layer's command-line and JSON loaders, so that the Python package parses options with the
// same code as waitron-serve.
#include "python/py_ref.hpp"

#include <string>
#include <vector>

#include "config/adjustments_cli.hpp"
#include "config/adjustments_json.hpp"
#include "python/bridge_types.hpp"
#include "python/environ.hpp"
#include "python/file_wrapper.hpp"
#include "python/input_stream.hpp"
#include "python/python_values.hpp"
#include "python/server_object.hpp"
#include "python/start_response.hpp"
#include "python/supervise.hpp"

namespace waitron::python {

BridgeTypes& bridge_types() {
  static BridgeTypes types;
  return types;
}

namespace {

PyObject* to_python(const OptionValue& v) {
  struct Visitor {
    PyObject* operator()(std::monostate) const { return Py_NewRef(Py_None); }
    PyObject* operator()(const std::string& s) const {
      return PyUnicode_FromStringAndSize(s.data(), static_cast<Py_ssize_t>(s.size()));
    }
    PyObject* operator()(std::int64_t i) const { return PyLong_FromLongLong(i); }
    PyObject* operator()(bool b) const { return PyBool_FromLong(b); }
    PyObject* operator()(const std::vector<std::string>& list) const {
      PyObject* out = PyList_New(static_cast<Py_ssize_t>(list.size()));
      for (std::size_t i = 0; out && i < list.size(); ++i)
        PyList_SET_ITEM(out, static_cast<Py_ssize_t>(i), (*this)(list[i]));
      return out;
    }
    PyObject* operator()(const std::vector<std::int64_t>& list) const {
      PyObject* out = PyList_New(static_cast<Py_ssize_t>(list.size()));
      for (std::size_t i = 0; out && i < list.size(); ++i)
        PyList_SET_ITEM(out, static_cast<Py_ssize_t>(i), PyLong_FromLongLong(list[i]));
      return out;
    }
  };
  return std::visit(Visitor{}, v);
}

PyObject* named_values(const std::vector<config::NamedValue>& values) {
  PyRef list = PyRef::steal(PyList_New(0));
  for (const auto& v : values) {
    PyRef value = PyRef::steal(to_python(v.value));
    PyRef pair = value ? PyRef::steal(Py_BuildValue("(sO)", v.name.c_str(), value.get())) : PyRef();
    if (!list || !pair || PyList_Append(list.get(), pair.get()) < 0) return nullptr;
  }
  return list.release();
}

PyObject* optional_str(const std::optional<std::string>& s) {
  return s ? PyUnicode_FromString(s->c_str()) : Py_NewRef(Py_None);
}

bool strings_from_python(PyObject* list, std::vector<std::string>& out) {
  PyRef seq = PyRef::steal(PySequence_Fast(list, "expected a list of str"));
  if (!seq) return false;
  for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq.get()); ++i) {
    const char* s = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(seq.get(), i));
    if (!s) return false;
    out.emplace_back(s);
  }
  return true;
}

PyObject* py_make_adjustments(PyObject*, PyObject* options) {
  std::vector<NamedOption> named;
  if (!options_from_python(options, named)) return nullptr;
  std::vector<std::string> warnings;
  Adjustments adj;
  try {
    adj = make_adjustments(named, &warnings);
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
    return nullptr;
  }
  PyRef dict = PyRef::steal(adjustments_to_python(adj));
  PyRef list = PyRef::steal(PyList_New(0));
  for (const auto& w : warnings) {
    PyRef s = PyRef::steal(PyUnicode_FromString(w.c_str()));
    if (!list || !s || PyList_Append(list.get(), s.get()) < 0) return nullptr;
  }
  if (!dict || !list) return nullptr;
  return Py_BuildValue("(OO)", dict.get(), list.get());
}

PyObject* py_options(PyObject*, PyObject*) {
  return option_table();
}

PyObject* py_serve_demo(PyObject* module, PyObject* options) {
  PyRef type = PyRef::steal(PyObject_GetAttrString(module, "Server"));
  return type ? serve_demo(type.get(), options) : nullptr;
}

PyObject* py_parse_cli(PyObject*, PyObject* args) {
  std::vector<std::string> argv;
  if (!strings_from_python(args, argv)) return nullptr;
  config::CliArgs cli;
  try {
    cli = config::parse_cli(argv);
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
    return nullptr;
  }
  PyRef values = PyRef::steal(named_values(cli.values));
  PyRef positional = PyRef::steal(PyList_New(0));
  for (const auto& p : cli.positional) {
    PyRef s = PyRef::steal(PyUnicode_FromString(p.c_str()));
    if (!positional || !s || PyList_Append(positional.get(), s.get()) < 0) return nullptr;
  }
  PyRef app = PyRef::steal(optional_str(cli.app));
  PyRef config = PyRef::steal(optional_str(cli.config));
  if (!values || !positional || !app || !config) return nullptr;
  return Py_BuildValue("{s:O,s:O,s:O,s:O,s:O,s:O}", "values", values.get(), "positional",
                       positional.get(), "help", cli.help ? Py_True : Py_False, "call",
                       cli.call ? Py_True : Py_False, "app", app.get(), "config", config.get());
}

PyObject* py_choose_app(PyObject*, PyObject* args) {
  PyObject* parsed = nullptr;
  PyObject* config_app = Py_None;
  if (!PyArg_ParseTuple(args, "O!|O:choose_app", &PyDict_Type, &parsed, &config_app))
    return nullptr;
  config::CliArgs cli;
  PyObject* app = PyDict_GetItemString(parsed, "app");
  PyObject* positional = PyDict_GetItemString(parsed, "positional");
  if (app && app != Py_None) {
    const char* text = PyUnicode_AsUTF8(app);
    if (!text) return nullptr;
    cli.app = text;
  }
  if (positional && !strings_from_python(positional, cli.positional)) return nullptr;
  std::optional<std::string> from_config;
  if (config_app != Py_None) {
    const char* text = PyUnicode_AsUTF8(config_app);
    if (!text) return nullptr;
    from_config = text;
  }
  if (PyErr_Occurred()) return nullptr;
  try {
    return PyUnicode_FromString(config::choose_app(cli, from_config).c_str());
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
    return nullptr;
  }
}

PyObject* py_help_text(PyObject*, PyObject* prog) {
  const char* p = PyUnicode_AsUTF8(prog);
  if (!p) return nullptr;
  return PyUnicode_FromString(config::help_text(p).c_str());
}

PyObject* py_load_json_config(PyObject*, PyObject* path) {
  PyRef encoded;
  if (!PyUnicode_FSConverter(path, reinterpret_cast<void*>(&encoded))) return nullptr;
  config::JsonConfig file;
  try {
    file = config::load_json_file(PyBytes_AS_STRING(encoded.get()));
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
    return nullptr;
  }
  PyRef values = PyRef::steal(named_values(file.values));
  PyRef app = PyRef::steal(optional_str(file.app));
  if (!values || !app) return nullptr;
  return Py_BuildValue("(OO)", values.get(), app.get());
}

PyMethodDef module_methods[] = {
    {"make_adjustments", py_make_adjustments, METH_O,
     "make_adjustments(options) -> (dict, warnings): waitress's Adjustments(**kw), in C++"},
    {"options", py_options, METH_NOARGS, "options() -> the option table"},
    {"serve_demo", py_serve_demo, METH_O,
     "serve_demo(options): serve the built-in native demo app until SIGINT/SIGTERM"},
    {"supervise", supervise, METH_O,
     "supervise(options) -> None | ('exit', status) | ('worker', fds): worker processes"},
    {"parse_cli", py_parse_cli, METH_O, "parse_cli(args) -> dict: waitress-serve's options"},
    {"choose_app", py_choose_app, METH_VARARGS, "choose_app(parsed, config_app=None) -> str"},
    {"help_text", py_help_text, METH_O, "help_text(prog) -> the usage text"},
    {"load_json_config", py_load_json_config, METH_O,
     "load_json_config(path) -> (values, app): a JSON configuration file"},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "waitron._waitron",
    "waitron's C++ core: the WSGI bridge and the server.",
    -1,
    module_methods,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

bool add(PyObject* module, const char* name, PyObject* object) {
  return object && PyModule_AddObjectRef(module, name, object) == 0;
}

}  // namespace

}  // namespace waitron::python

PyMODINIT_FUNC PyInit__waitron() {
  using namespace waitron::python;
  PyRef module = PyRef::steal(PyModule_Create(&module_def));
  if (!module) return nullptr;
  BridgeTypes& t = bridge_types();
  if (!t.input_stream) {  // once per process: the types outlive any module object
    PyRef traceback = PyRef::steal(PyImport_ImportModule("traceback"));
    if (!traceback) return nullptr;
    t.format_exception = PyObject_GetAttrString(traceback.get(), "format_exception");
    t.close_name = PyUnicode_InternFromString("close");
    t.input_stream = make_input_stream_type();
    t.file_wrapper = make_file_wrapper_type();
    t.client_disconnected = PyErr_NewExceptionWithDoc(
        "waitron._waitron.ClientDisconnected",
        "Raised by write(), the response iteration and wsgi.input reads once the client is "
        "gone (or a streamed request body cannot complete).",
        PyExc_OSError, nullptr);
    if (!t.format_exception || !t.close_name || !t.input_stream || !t.file_wrapper ||
        !t.client_disconnected || !init_start_response_types(t) || !init_environ_types(t)) {
      return nullptr;
    }
  }
  PyRef server = PyRef::steal(make_server_type());
  if (!add(module.get(), "InputStream", t.input_stream) ||
      !add(module.get(), "FileWrapper", t.file_wrapper) ||
      !add(module.get(), "ClientDisconnected", t.client_disconnected) ||
      !add(module.get(), "Server", server.get())) {
    return nullptr;
  }
  return module.release();
}
