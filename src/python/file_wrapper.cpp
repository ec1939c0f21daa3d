#include "python/file_wrapper.hpp"

#include <cstring>

#include "core/forced_unwind.hpp"

namespace waitron::python {

namespace {

struct FileWrapper {
  PyObject_HEAD PyObject* filelike;  // owned
  Py_ssize_t block_size;
};

FileWrapper* self_of(PyObject* o) {
  return reinterpret_cast<FileWrapper*>(o);
}

PyObject* wrapper_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
  PyObject* filelike = nullptr;
  Py_ssize_t block_size = 32768;
  static const char* keywords[] = {"filelike", "block_size", nullptr};
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|n:FileWrapper", const_cast<char**>(keywords),
                                   &filelike, &block_size)) {
    return nullptr;
  }
  if (block_size <= 0) {
    PyErr_SetString(PyExc_ValueError, "block_size must be positive");
    return nullptr;
  }
  PyObject* o = type->tp_alloc(type, 0);
  if (!o) return nullptr;
  self_of(o)->filelike = Py_NewRef(filelike);
  self_of(o)->block_size = block_size;
  return o;
}

void wrapper_dealloc(PyObject* o) {
  PyTypeObject* type = Py_TYPE(o);
  Py_XDECREF(self_of(o)->filelike);
  type->tp_free(o);
  Py_DECREF(type);
}

PyObject* wrapper_iter(PyObject* o) {
  return Py_NewRef(o);
}

PyObject* wrapper_iternext(PyObject* o) {
  FileWrapper* w = self_of(o);
  // A file's read() releases the GIL: taking it back while the interpreter finalizes
  // would end the thread (core/forced_unwind.hpp).
  PyRef data = PyRef::steal(core::hang_if_ended(
      [w] { return PyObject_CallMethod(w->filelike, "read", "n", w->block_size); }));
  if (!data) return nullptr;
  int empty = core::hang_if_ended([&data] { return PyObject_Not(data.get()); });
  if (empty < 0) return nullptr;
  if (empty) return nullptr;  // StopIteration
  return data.release();
}

PyObject* wrapper_close(PyObject* o, PyObject*) {
  PyObject* f = self_of(o)->filelike;
  if (PyObject_HasAttrString(f, "close")) {
    PyRef r = PyRef::steal(PyObject_CallMethod(f, "close", nullptr));
    if (!r) return nullptr;
  }
  Py_RETURN_NONE;
}

// seek, tell and seekable come from the file, when it has them.
PyObject* wrapper_getattro(PyObject* o, PyObject* name) {
  PyObject* found = PyObject_GenericGetAttr(o, name);
  if (found || !PyErr_ExceptionMatches(PyExc_AttributeError)) return found;
  const char* n = PyUnicode_AsUTF8(name);
  if (n && (std::strcmp(n, "seek") == 0 || std::strcmp(n, "tell") == 0 ||
            std::strcmp(n, "seekable") == 0)) {
    PyErr_Clear();
    return PyObject_GetAttr(self_of(o)->filelike, name);
  }
  return nullptr;
}

PyObject* wrapper_filelike(PyObject* o, void*) {
  return Py_NewRef(self_of(o)->filelike);
}
PyObject* wrapper_block_size(PyObject* o, void*) {
  return PyLong_FromSsize_t(self_of(o)->block_size);
}

PyMethodDef wrapper_methods[] = {
    {"close", wrapper_close, METH_NOARGS, "Closes the wrapped file."},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef wrapper_getset[] = {
    {"filelike", wrapper_filelike, nullptr, nullptr, nullptr},
    {"block_size", wrapper_block_size, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot wrapper_slots[] = {
    {Py_tp_doc, const_cast<char*>("wsgi.file_wrapper(filelike, block_size=32768)")},
    {Py_tp_new, reinterpret_cast<void*>(wrapper_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(wrapper_dealloc)},
    {Py_tp_iter, reinterpret_cast<void*>(wrapper_iter)},
    {Py_tp_iternext, reinterpret_cast<void*>(wrapper_iternext)},
    {Py_tp_getattro, reinterpret_cast<void*>(wrapper_getattro)},
    {Py_tp_methods, wrapper_methods},
    {Py_tp_getset, wrapper_getset},
    {0, nullptr},
};

PyType_Spec wrapper_spec = {
    "waitron._waitron.FileWrapper", sizeof(FileWrapper), 0, Py_TPFLAGS_DEFAULT, wrapper_slots,
};

}  // namespace

PyObject* make_file_wrapper_type() {
  return PyType_FromSpec(&wrapper_spec);
}

PyObject* file_wrapper_filelike(PyObject* type, PyObject* o) {
  if (Py_TYPE(o) != reinterpret_cast<PyTypeObject*>(type)) return nullptr;
  return self_of(o)->filelike;
}

}  // namespace waitron::python
