#include "python/environ.hpp"

#include "python/bridge_types.hpp"

namespace waitron::python {

namespace {

struct DisconnectCheck {
  PyObject_HEAD const Request* request;  // null once the request ended
};

PyObject* check_call(PyObject* o, PyObject*, PyObject*) {
  const Request* r = reinterpret_cast<DisconnectCheck*>(o)->request;
  return PyBool_FromLong(r == nullptr || r->client_disconnected());
}

void check_dealloc(PyObject* o) {
  PyTypeObject* type = Py_TYPE(o);
  type->tp_free(o);
  Py_DECREF(type);
}

PyType_Slot check_slots[] = {
    {Py_tp_doc, const_cast<char*>("client_disconnected() -> True once the client is gone")},
    {Py_tp_call, reinterpret_cast<void*>(check_call)},
    {Py_tp_dealloc, reinterpret_cast<void*>(check_dealloc)},
    {0, nullptr},
};
PyType_Spec check_spec = {"waitron._waitron.ClientDisconnectedCheck", sizeof(DisconnectCheck), 0,
                          Py_TPFLAGS_DEFAULT, check_slots};

bool set(PyObject* dict, const char* key, PyObject* value_new_ref) {
  if (!value_new_ref) return false;
  int rc = PyDict_SetItemString(dict, key, value_new_ref);
  Py_DECREF(value_new_ref);
  return rc == 0;
}

}  // namespace

bool init_environ_types(BridgeTypes& types) {
  types.disconnect_check = PyType_FromSpec(&check_spec);
  return types.disconnect_check != nullptr;
}

PyObject* new_disconnect_check(const BridgeTypes& types, const Request* request) {
  auto* t = reinterpret_cast<PyTypeObject*>(types.disconnect_check);
  PyObject* o = t->tp_alloc(t, 0);
  if (o) reinterpret_cast<DisconnectCheck*>(o)->request = request;
  return o;
}

void detach_disconnect_check(PyObject* check) {
  reinterpret_cast<DisconnectCheck*>(check)->request = nullptr;
}

PyObject* build_environ(const BridgeTypes& types, const Request& request,
                        const std::string& url_scheme, PyObject* input, PyObject* check) {
  PyRef env = PyRef::steal(PyDict_New());
  if (!env) return nullptr;
  for (const auto& [key, value] : request.environ()) {
    PyRef v = PyRef::steal(
        PyUnicode_DecodeLatin1(value.data(), static_cast<Py_ssize_t>(value.size()), nullptr));
    if (!v || PyDict_SetItemString(env.get(), key.c_str(), v.get()) < 0) return nullptr;
  }
  // waitress gives SERVER_SOFTWARE = None when ident is unset.
  if (!request.environ().count("SERVER_SOFTWARE") &&
      PyDict_SetItemString(env.get(), "SERVER_SOFTWARE", Py_None) < 0) {
    return nullptr;
  }
  PyObject* sys_stderr = PySys_GetObject("stderr");  // borrowed
  bool ok =
      set(env.get(), "wsgi.version", Py_BuildValue("(ii)", 1, 0)) &&
      set(env.get(), "wsgi.url_scheme",
          PyUnicode_DecodeLatin1(url_scheme.data(), static_cast<Py_ssize_t>(url_scheme.size()),
                                 nullptr)) &&
      PyDict_SetItemString(env.get(), "wsgi.input", input) == 0 &&
      PyDict_SetItemString(env.get(), "wsgi.errors", sys_stderr ? sys_stderr : Py_None) == 0 &&
      PyDict_SetItemString(env.get(), "wsgi.multithread", Py_True) == 0 &&
      PyDict_SetItemString(env.get(), "wsgi.multiprocess", Py_False) == 0 &&
      PyDict_SetItemString(env.get(), "wsgi.run_once", Py_False) == 0 &&
      PyDict_SetItemString(env.get(), "wsgi.file_wrapper", types.file_wrapper) == 0 &&
      PyDict_SetItemString(env.get(), "wsgi.input_terminated", Py_True) == 0 &&
      PyDict_SetItemString(env.get(), "waitron.client_disconnected", check) == 0 &&
      PyDict_SetItemString(env.get(), "waitress.client_disconnected", check) == 0;
  return ok ? env.release() : nullptr;
}

}  // namespace waitron::python
