#include "python/python_values.hpp"

#include <string_view>

namespace waitron::python {

namespace {

PyObject* to_python(const std::string& v) {
  return PyUnicode_FromStringAndSize(v.data(), static_cast<Py_ssize_t>(v.size()));
}
PyObject* to_python(std::int64_t v) {
  return PyLong_FromLongLong(v);
}
PyObject* to_python(std::uint32_t v) {
  return PyLong_FromUnsignedLong(v);
}
PyObject* to_python(bool v) {
  return PyBool_FromLong(v);
}
PyObject* to_python(const std::optional<std::string>& v) {
  return v ? to_python(*v) : Py_NewRef(Py_None);
}
PyObject* to_python(const std::optional<std::int64_t>& v) {
  return v ? to_python(*v) : Py_NewRef(Py_None);
}
PyObject* to_python(const std::vector<int>& v) {
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(v.size()));
  for (std::size_t i = 0; list && i < v.size(); ++i)
    PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), PyLong_FromLong(v[i]));
  return list;
}
PyObject* to_python(const std::set<std::string>& v) {
  PyRef set = PyRef::steal(PySet_New(nullptr));
  for (const std::string& s : v) {
    PyRef item = PyRef::steal(to_python(s));
    if (!set || !item || PySet_Add(set.get(), item.get()) < 0) return nullptr;
  }
  return set.release();
}
PyObject* to_python(const std::vector<ListenEntry>& v) {
  PyRef list = PyRef::steal(PyList_New(0));
  for (const ListenEntry& e : v) {
    bool v6 = e.host.find(':') != std::string::npos;
    PyRef item = PyRef::steal(to_python((v6 ? "[" + e.host + "]" : e.host) + ":" + e.port));
    if (!list || !item || PyList_Append(list.get(), item.get()) < 0) return nullptr;
  }
  return list.release();
}

}  // namespace

bool value_from_python(PyObject* value, OptionValue& out) {
  if (value == Py_None) {
    out = std::monostate{};
  } else if (PyBool_Check(value)) {  // before int: bool is an int subclass
    out = value == Py_True;
  } else if (PyLong_Check(value)) {
    long long v = PyLong_AsLongLong(value);
    if (v == -1 && PyErr_Occurred()) return false;
    out = static_cast<std::int64_t>(v);
  } else if (PyUnicode_Check(value)) {
    Py_ssize_t n = 0;
    const char* s = PyUnicode_AsUTF8AndSize(value, &n);
    if (!s) return false;
    out = std::string(s, static_cast<std::size_t>(n));
  } else if (PyList_Check(value) || PyTuple_Check(value) || PyAnySet_Check(value)) {
    PyRef seq = PyRef::steal(PySequence_List(value));
    if (!seq) return false;
    std::vector<std::string> strings;
    std::vector<std::int64_t> ints;
    Py_ssize_t n = PyList_GET_SIZE(seq.get());
    for (Py_ssize_t i = 0; i < n; ++i) {
      PyObject* item = PyList_GET_ITEM(seq.get(), i);
      if (PyUnicode_Check(item)) {
        const char* s = PyUnicode_AsUTF8(item);
        if (!s) return false;
        strings.emplace_back(s);
      } else if (PyLong_Check(item) && !PyBool_Check(item)) {
        ints.push_back(PyLong_AsLongLong(item));
      } else {
        // waitress's as_socket_list keeps only sockets; the Python layer passes their fds.
        PyErr_Format(PyExc_TypeError, "option values in a list must be str or int, not %.100s",
                     Py_TYPE(item)->tp_name);
        return false;
      }
    }
    if (!ints.empty() && !strings.empty()) {
      PyErr_SetString(PyExc_TypeError, "an option list may not mix str and int");
      return false;
    }
    if (ints.empty())
      out = std::move(strings);
    else
      out = std::move(ints);
  } else {
    PyErr_Format(PyExc_TypeError, "unsupported option value of type %.100s",
                 Py_TYPE(value)->tp_name);
    return false;
  }
  return true;
}

bool options_from_python(PyObject* options, std::vector<NamedOption>& out) {
  PyRef items =
      PyDict_Check(options) ? PyRef::steal(PyDict_Items(options)) : PyRef::borrow(options);
  PyRef it = PyRef::steal(PyObject_GetIter(items.get()));
  if (!it) return false;
  while (PyRef pair = PyRef::steal(PyIter_Next(it.get()))) {
    PyObject *name = nullptr, *value = nullptr;
    if (!PyArg_ParseTuple(pair.get(), "UO", &name, &value)) return false;
    NamedOption o;
    const char* text = PyUnicode_AsUTF8(name);
    if (!text) return false;
    o.name = text;
    if (!value_from_python(value, o.value)) return false;
    out.push_back(std::move(o));
  }
  return !PyErr_Occurred();
}

PyObject* adjustments_to_python(const Adjustments& a) {
  PyRef dict = PyRef::steal(PyDict_New());
  if (!dict) return nullptr;
#define WAITRON_ADJUSTMENT(name, converter, type, default_value, section, metavar, help) \
  {                                                                                      \
    PyRef v = PyRef::steal(to_python(a.name));                                           \
    if (!v || PyDict_SetItemString(dict.get(), #name, v.get()) < 0) return nullptr;      \
  }
#include <waitron/adjustment_options.inc>
  return dict.release();
}

PyObject* option_table() {
  PyRef list = PyRef::steal(PyList_New(0));
  if (!list) return nullptr;
#define WAITRON_ADJUSTMENT(name, converter, type, default_value, section, metavar, help) \
  {                                                                                      \
    PyRef item = PyRef::steal(Py_BuildValue(                                             \
        "{s:s,s:s,s:O,s:s}", "name", #name, "converter", #converter, "boolean",          \
        std::string_view(#converter) == "asbool" ? Py_True : Py_False, "help", help));   \
    if (!item || PyList_Append(list.get(), item.get()) < 0) return nullptr;              \
  }
#include <waitron/adjustment_options.inc>
  return list.release();
}

}  // namespace waitron::python
