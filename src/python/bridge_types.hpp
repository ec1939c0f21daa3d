// The Python objects the bridge creates once, when the _waitron module initialises: its
// types and exception class, and the stdlib objects it calls. Module-lifetime references
// (never released: the module lives until the interpreter ends). Read with the GIL held.
#pragma once

#include "python/py_ref.hpp"

namespace waitron::python {

struct BridgeTypes {
  PyObject* input_stream = nullptr;         // waitron._waitron.InputStream
  PyObject* file_wrapper = nullptr;         // waitron._waitron.FileWrapper
  PyObject* start_response = nullptr;       // the start_response callable's type
  PyObject* write_callable = nullptr;       // the write callable's type
  PyObject* disconnect_check = nullptr;     // environ["waitron.client_disconnected"]'s type
  PyObject* client_disconnected = nullptr;  // the exception class ClientDisconnected
  PyObject* format_exception = nullptr;     // traceback.format_exception
  PyObject* close_name = nullptr;           // "close", interned: the result's close()
};

// The module's instance, filled by PyInit__waitron.
BridgeTypes& bridge_types();

}  // namespace waitron::python
