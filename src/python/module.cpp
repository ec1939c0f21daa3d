// The _waitron extension module: the C++ side of the Python package `waitron`.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

namespace {

PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "waitron._waitron", "waitron's C++ core.", -1, nullptr,
    nullptr, nullptr, nullptr, nullptr,
};

}  // namespace

PyMODINIT_FUNC PyInit__waitron() { return PyModule_Create(&module_def); }
