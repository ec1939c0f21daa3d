#include "python/environ.hpp"

#include "python/bridge_types.hpp"

#include <cstddef>
#include <cstring>
#include <iterator>
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
// key. Each key also keeps the value it had last (up to kMaxKeptValue bytes): most of a
// request's CGI variables and headers repeat the last request's (SERVER_NAME, the method,
// the protocol, Host, User-Agent...), and a str is immutable, so an equal one is shared
// instead of made. Header names are the client's choice, so the cache stops growing at
// kMaxKeys; later names get a fresh string each time. Module lifetime; the GIL guards it.
constexpr std::size_t kMaxKeys = 512;
constexpr std::size_t kMaxKeptValue = 256;

struct KeyEntry {
  PyObject* key = nullptr;         // interned; the cache's reference
  PyObject* last_value = nullptr;  // the cache's reference, or null
  std::string_view name;           // the cache's own copy of the key's bytes
  int stable = -1;                 // its Stable index when the template holds it, else -1
};

KeyEntry* environ_key_entry(std::string_view key) {
  static auto* cache = new std::unordered_map<std::string, KeyEntry, KeyHash, std::equal_to<>>();
  if (auto it = cache->find(key); it != cache->end()) return &it->second;
  if (cache->size() >= kMaxKeys) return nullptr;
  PyObject* made = PyUnicode_DecodeLatin1(key.data(), static_cast<Py_ssize_t>(key.size()), nullptr);
  if (!made) {
    PyErr_Clear();  // the caller makes the key itself, and fails the same way
    return nullptr;
  }
  PyUnicode_InternInPlace(&made);
  try {
    auto it = cache->emplace(std::string(key), KeyEntry{made, nullptr, {}}).first;
    it->second.name = it->first;  // a node's key never moves
    return &it->second;
  } catch (...) {
    Py_DECREF(made);
    return nullptr;
  }
}

// The key visited at each position of the last environ built: a request's keys come in
// the same order as the last one's (the CGI variables always, the headers of one client
// mostly), so comparing with the key at the same position finds most entries without
// hashing. Module lifetime; the GIL guards it.
constexpr std::size_t kPositions = 64;

KeyEntry* environ_key_entry_at(std::size_t position, std::string_view key) {
  static KeyEntry* last[kPositions] = {};
  KeyEntry** slot = position < kPositions ? &last[position] : nullptr;
  if (slot && *slot && (*slot)->name == key) return *slot;
  KeyEntry* entry = environ_key_entry(key);
  if (slot && entry) *slot = entry;
  return entry;
}

// True when `str` (a str of the cache) holds exactly the latin-1 bytes `value`.
bool same_text(PyObject* str, std::string_view value) {
  // An empty view may have no data at all (QUERY_STRING of "/"): memcmp must not see it.
  return PyUnicode_KIND(str) == PyUnicode_1BYTE_KIND &&
         static_cast<std::size_t>(PyUnicode_GET_LENGTH(str)) == value.size() &&
         (value.empty() || std::memcmp(PyUnicode_1BYTE_DATA(str), value.data(), value.size()) == 0);
}

// A new reference to the value for `key`: the key's last one when equal (then `*repeated`
// is set), else a new str (kept as the key's last one when short enough). Null with an
// exception set on failure.
PyObject* environ_value(KeyEntry* entry, std::string_view value, bool* repeated = nullptr) {
  if (entry && entry->last_value && same_text(entry->last_value, value)) {
    if (repeated) *repeated = true;
    Py_INCREF(entry->last_value);
    return entry->last_value;
  }
  PyObject* made =
      PyUnicode_DecodeLatin1(value.data(), static_cast<Py_ssize_t>(value.size()), nullptr);
  if (made && entry && value.size() <= kMaxKeptValue) {
    Py_INCREF(made);
    Py_XSETREF(entry->last_value, made);
  }
  return made;
}

// The keys every environ has beyond the request's own variables, made once each (module
// lifetime; the GIL guards them): set without a lookup in the key cache.
enum class Fixed : std::size_t {
  server_software,
  version,
  input,
  errors,
  multithread,
  multiprocess,
  run_once,
  file_wrapper,
  input_terminated,
  waitron_disconnected,
  waitress_disconnected,
  count
};
constexpr const char* kFixedNames[] = {"SERVER_SOFTWARE",
                                       "wsgi.version",
                                       "wsgi.input",
                                       "wsgi.errors",
                                       "wsgi.multithread",
                                       "wsgi.multiprocess",
                                       "wsgi.run_once",
                                       "wsgi.file_wrapper",
                                       "wsgi.input_terminated",
                                       "waitron.client_disconnected",
                                       "waitress.client_disconnected"};
static_assert(std::size(kFixedNames) == static_cast<std::size_t>(Fixed::count));

// A borrowed reference, or null with an exception set (made again at the next call).
PyObject* fixed(Fixed which) {
  static PyObject* made[static_cast<std::size_t>(Fixed::count)] = {};
  PyObject*& slot = made[static_cast<std::size_t>(which)];
  if (!slot) slot = PyUnicode_InternFromString(kFixedNames[static_cast<std::size_t>(which)]);
  return slot;
}

bool set_fixed(PyObject* dict, Fixed key, PyObject* value) {
  PyObject* k = fixed(key);
  return k && value && PyDict_SetItem(dict, k, value) == 0;
}

// sys.stderr as it is now (an application may replace it), borrowed, or null. Looked up in
// the dict of the sys module with a key made once: PySys_GetObject() makes a str of its name
// at each call. The module is found with PyImport_GetModule (which never makes one) and its
// dict kept for the interpreter it came from (module lifetime; the GIL guards it). Without
// them (sys.modules holds no module "sys", or a name could not be made) PySys_GetObject()
// answers.
PyObject* current_stderr() {
  static PyObject* name = nullptr;
  static PyObject* sys_dict = nullptr;
  static PyInterpreterState* dict_of = nullptr;
  PyInterpreterState* interpreter = PyInterpreterState_Get();
  if (!name || !sys_dict || dict_of != interpreter) {
    if (!name) name = PyUnicode_InternFromString("stderr");
    PyRef sys_name = PyRef::steal(PyUnicode_FromString("sys"));
    PyRef sys = sys_name ? PyRef::steal(PyImport_GetModule(sys_name.get())) : PyRef();
    if (name && sys && PyModule_Check(sys.get())) {
      Py_XSETREF(sys_dict, Py_NewRef(PyModule_GetDict(sys.get())));
      dict_of = interpreter;
    } else {
      PyErr_Clear();
      return PySys_GetObject("stderr");
    }
  }
  PyObject* found = PyDict_GetItemWithError(sys_dict, name);
  if (!found) PyErr_Clear();  // as PySys_GetObject: no exception, a null result
  return found;
}

// Room for a usual environ (a dozen CGI variables, the fixed wsgi keys and some headers)
// without the three resizes a dict growing from empty goes through.
constexpr Py_ssize_t kEnvironSize = 32;

// The variables that most requests give the value the request before them gave: the
// server's own (SCRIPT_NAME, SERVER_NAME, SERVER_PORT, SERVER_SOFTWARE, wsgi.url_scheme),
// the client's address as one proxy in front shows it, a usual method, protocol and empty
// query. The server's requests give each of them every time (work/cgi_environ.cpp).
enum class Stable : int {
  request_method,
  script_name,
  query_string,
  server_name,
  server_port,
  server_protocol,
  server_software,
  remote_addr,
  remote_host,
  url_scheme,
  count
};
constexpr const char* kStableNames[] = {
    "REQUEST_METHOD",  "SCRIPT_NAME",     "QUERY_STRING", "SERVER_NAME", "SERVER_PORT",
    "SERVER_PROTOCOL", "SERVER_SOFTWARE", "REMOTE_ADDR",  "REMOTE_HOST", "wsgi.url_scheme"};
constexpr int kStableCount = static_cast<int>(Stable::count);
static_assert(std::size(kStableNames) == static_cast<std::size_t>(kStableCount));
static_assert(kStableCount < 32, "a request's visited and overwritten keys are bits of unsigned");

constexpr unsigned bit_of(int stable) {
  return 1u << static_cast<unsigned>(stable);
}

// What each request's environ starts as, a copy of `dict`: the entries every environ has
// with the same values (wsgi.version, multithread, multiprocess, run_once, file_wrapper,
// input_terminated), and each stable variable with the value it had in the last request
// that gave the same value twice in a row, and wsgi.errors as the last request found it.
// A copy takes the table whole (no insertion, no resize: it is presized for a usual
// environ), so a request whose stable variables repeat sets none of them; one that differs
// sets its own value over the copied one (and deletes a stable variable it does not give).
// Module lifetime; the GIL guards it; made again after a failure.
//
// A request reads `values` as what its copy holds, so no other thread may change the
// template between the copy and the last variable: nothing build_environ() calls in
// between may let another thread run. The copy's allocation is the one place where a
// garbage collection could start (and run finalizers that release the GIL); collections
// are held off during it. Setting str values and deleting str keys of a dict runs no
// Python code.
struct Template {
  PyObject* dict = nullptr;              // owned
  KeyEntry* entries[kStableCount] = {};  // each stable variable's entry in the key cache
  PyObject* values[kStableCount] = {};   // borrowed from dict: its value for each of them
  PyObject* errors = nullptr;            // borrowed from dict: its wsgi.errors

  // Sets dict[key] = value (a stable variable's or wsgi.errors's); false, with no
  // exception set, if it could not (the template keeps its old value: still right).
  bool update(PyObject* key, PyObject* value) {
    if (PyDict_SetItem(dict, key, value) != 0) {
      PyErr_Clear();
      return false;
    }
    return true;
  }
};

// A borrowed reference, or null with an exception set (made again at the next call).
Template* environ_template(const BridgeTypes& types) {
  static Template* made = nullptr;
  if (made) return made;
  PyRef t = PyRef::steal(_PyDict_NewPresized(kEnvironSize));
  // A tuple (1, 0): the template keeps it alive. Py_BuildValue under the GIL, not a
  // function-local static: its guard, taken with the GIL held, could block a thread that a
  // garbage collection during the first call lets run.
  PyRef version = PyRef::steal(Py_BuildValue("(ii)", 1, 0));
  if (!t || !version || !set_fixed(t.get(), Fixed::version, version.get()) ||
      !set_fixed(t.get(), Fixed::multithread, Py_True) ||
      !set_fixed(t.get(), Fixed::multiprocess, Py_False) ||
      !set_fixed(t.get(), Fixed::run_once, Py_False) ||
      !set_fixed(t.get(), Fixed::file_wrapper, types.file_wrapper) ||
      !set_fixed(t.get(), Fixed::input_terminated, Py_True) ||
      !set_fixed(t.get(), Fixed::errors, Py_None)) {
    return nullptr;
  }
  auto* result = new (std::nothrow) Template();
  if (!result) {
    PyErr_NoMemory();
    return nullptr;
  }
  result->errors = Py_None;
  for (int i = 0; i < kStableCount; ++i) {
    // The key cache is all but empty before the first template: an entry is missing only
    // when memory is (the request fails, the next one tries again).
    KeyEntry* entry = environ_key_entry(kStableNames[i]);
    // Until a request gives it, a stable variable holds None, which no request's str is.
    if (!entry || PyDict_SetItem(t.get(), entry->key, Py_None) != 0) {
      if (!PyErr_Occurred()) PyErr_NoMemory();
      delete result;
      return nullptr;
    }
    entry->stable = i;
    result->entries[i] = entry;
    result->values[i] = Py_None;
  }
  result->dict = t.release();
  if (made) {
    // Another thread made one while a garbage collection during this one let it run.
    Py_DECREF(result->dict);
    delete result;
    return made;
  }
  made = result;
  return made;
}

// A request's environ while it is filled.
struct Filling {
  Template* start;
  PyObject* env;
  bool ok = true;
  std::size_t position = 0;  // the next key's place among the request's visited keys
  unsigned visited = 0;      // the stable variables the request gave
  unsigned overwritten = 0;  // the stable variables whose copied value was set over
};

// Sets environ[key] = value for a stable variable: nothing when the copy of the template
// holds the value already. A value given twice in a row becomes the template's.
bool set_stable(Filling& f, KeyEntry& entry, std::string_view value) {
  const unsigned bit = bit_of(entry.stable);
  PyObject*& in_template = f.start->values[entry.stable];
  f.visited |= bit;
  bool repeated = false;
  PyRef v = PyRef::steal(environ_value(&entry, value, &repeated));
  if (!v) return false;
  if (v.get() == in_template && (f.overwritten & bit) == 0) return true;
  if (PyDict_SetItem(f.env, entry.key, v.get()) != 0) return false;
  f.overwritten |= bit;
  if (repeated && v.get() != in_template && f.start->update(entry.key, v.get())) {
    in_template = v.get();
  }
  return true;
}

// Sets environ[key] = value, both from the caches when they can be.
bool set_text(Filling& f, std::string_view key, std::string_view value) {
  KeyEntry* entry = environ_key_entry_at(f.position++, key);
  if (entry && entry->stable >= 0) return set_stable(f, *entry, value);
  PyRef k = entry ? PyRef::borrow(entry->key)
                  : PyRef::steal(PyUnicode_DecodeLatin1(
                        key.data(), static_cast<Py_ssize_t>(key.size()), nullptr));
  PyRef v = PyRef::steal(environ_value(entry, value));
  return k && v && PyDict_SetItem(f.env, k.get(), v.get()) == 0;
}

// After the request's variables: the stable ones it did not give are removed from the
// copy, but SERVER_SOFTWARE, which is None then (as waitress gives it when ident is unset).
bool finish_stable(Filling& f) {
  Template& t = *f.start;
  const int software = static_cast<int>(Stable::server_software);
  if ((f.visited & bit_of(software)) == 0) {
    bool copied_none = t.values[software] == Py_None && (f.overwritten & bit_of(software)) == 0;
    if (!copied_none && !set_fixed(f.env, Fixed::server_software, Py_None)) return false;
  }
  constexpr unsigned kAll = bit_of(kStableCount) - 1;
  unsigned missing = kAll & ~f.visited & ~bit_of(software);
  for (int i = 0; missing != 0; ++i, missing >>= 1) {
    if ((missing & 1u) != 0 && PyDict_DelItem(f.env, t.entries[i]->key) != 0) return false;
  }
  return true;
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

PyObject* build_environ(const BridgeTypes& types, const Request& request, PyObject* input,
                        PyObject* check) {
  Template* start = environ_template(types);
  if (!start) return nullptr;
  // No garbage collection while the copy is made (see Template): one that was due starts
  // at the next allocation of a tracked object after it.
  const int collecting = PyGC_Disable();
  PyRef env = PyRef::steal(PyDict_Copy(start->dict));
  if (collecting) PyGC_Enable();
  if (!env) return nullptr;
  Filling f{start, env.get()};
  // The visitor captures one pointer, which std::function keeps in place: no allocation.
  request.visit_environ([at = &f](std::string_view key, std::string_view value) {
    if (at->ok) at->ok = set_text(*at, key, value);
  });
  if (!f.ok || !finish_stable(f)) return nullptr;
  // wsgi.errors: sys.stderr as it is now (an application may replace it), or None.
  PyObject* sys_stderr = current_stderr();  // borrowed
  PyObject* errors = sys_stderr ? sys_stderr : Py_None;
  if (errors != start->errors) {
    if (!set_fixed(env.get(), Fixed::errors, errors)) return nullptr;
    if (start->update(fixed(Fixed::errors), errors)) start->errors = errors;
  }
  bool ok = set_fixed(env.get(), Fixed::input, input) &&
            set_fixed(env.get(), Fixed::waitron_disconnected, check) &&
            set_fixed(env.get(), Fixed::waitress_disconnected, check);
  return ok ? env.release() : nullptr;
}

}  // namespace waitron::python
