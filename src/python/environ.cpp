#include "python/environ.hpp"

#include "python/bridge_types.hpp"

#include <string>
#include <string_view>
#include <unordered_map>

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

struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// The environ's keys as interned Python strings, made once each: a request's dict is
// filled with ready keys (their hashes cached) instead of making and interning a string per
// key. Header names are the client's choice, so the cache stops growing at kMaxKeys; later
// names get a fresh string each time. Module lifetime; the GIL guards it.
constexpr std::size_t kMaxKeys = 512;

PyRef environ_key(std::string_view key) {
  static auto* cache = new std::unordered_map<std::string, PyObject*, KeyHash, std::equal_to<>>();
  if (auto it = cache->find(key); it != cache->end()) return PyRef::borrow(it->second);
  PyObject* made = PyUnicode_DecodeLatin1(key.data(), static_cast<Py_ssize_t>(key.size()), nullptr);
  if (!made) return PyRef();
  if (cache->size() >= kMaxKeys) return PyRef::steal(made);
  PyUnicode_InternInPlace(&made);
  try {
    cache->emplace(std::string(key), made);  // the cache keeps this reference
  } catch (...) {
    return PyRef::steal(made);
  }
  return PyRef::borrow(made);
}

bool set(PyObject* dict, std::string_view key, PyObject* value) {
  PyRef k = environ_key(key);
  return k && value && PyDict_SetItem(dict, k.get(), value) == 0;
}

bool set_new(PyObject* dict, std::string_view key, PyObject* value_new_ref) {
  PyRef v = PyRef::steal(value_new_ref);
  return v && set(dict, key, v.get());  // a failed value keeps its exception
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
  bool ok = true;
  bool has_software = false;
  request.visit_environ([&](std::string_view key, std::string_view value) {
    if (!ok) return;
    has_software = has_software || key == "SERVER_SOFTWARE";
    ok = set_new(
        env.get(), key,
        PyUnicode_DecodeLatin1(value.data(), static_cast<Py_ssize_t>(value.size()), nullptr));
  });
  if (!ok) return nullptr;
  // waitress gives SERVER_SOFTWARE = None when ident is unset.
  if (!has_software && !set(env.get(), "SERVER_SOFTWARE", Py_None)) return nullptr;
  // (1, 0), made once (module lifetime) and retried if that failed. A plain pointer under
  // the GIL, not a function-local static: its guard, taken with the GIL held, could block a
  // thread that a garbage collection during the first call lets run.
  static PyObject* version = nullptr;
  if (!version) version = Py_BuildValue("(ii)", 1, 0);
  if (!version) return nullptr;
  PyObject* sys_stderr = PySys_GetObject("stderr");  // borrowed
  ok = set(env.get(), "wsgi.version", version) &&
       set_new(env.get(), "wsgi.url_scheme",
               PyUnicode_DecodeLatin1(url_scheme.data(), static_cast<Py_ssize_t>(url_scheme.size()),
                                      nullptr)) &&
       set(env.get(), "wsgi.input", input) &&
       set(env.get(), "wsgi.errors", sys_stderr ? sys_stderr : Py_None) &&
       set(env.get(), "wsgi.multithread", Py_True) &&
       set(env.get(), "wsgi.multiprocess", Py_False) && set(env.get(), "wsgi.run_once", Py_False) &&
       set(env.get(), "wsgi.file_wrapper", types.file_wrapper) &&
       set(env.get(), "wsgi.input_terminated", Py_True) &&
       set(env.get(), "waitron.client_disconnected", check) &&
       set(env.get(), "waitress.client_disconnected", check);
  return ok ? env.release() : nullptr;
}

}  // namespace waitron::python
