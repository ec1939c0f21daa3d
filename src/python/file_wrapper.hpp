// wsgi.file_wrapper (PEP 3333, seed 002): FileWrapper(filelike, block_size=32768).
//
// As an ordinary iterable it yields filelike.read(block_size) until b"" and close() closes
// the file. Returned as the application's result, the WSGI adapter recognises it and, when
// the file is a seekable regular file with fileno(), sends it with sendfile from its current
// position instead of iterating: read() is then never called. seek, tell and seekable are
// the file's own, when it has them (waitress's ReadOnlyFileBasedBuffer). Threads: Python
// objects, used with the GIL held.
#pragma once

#include "python/py_ref.hpp"

namespace waitron::python {

PyObject* make_file_wrapper_type();

// The wrapped file of a FileWrapper instance (borrowed), or null if `o` is not one.
PyObject* file_wrapper_filelike(PyObject* type, PyObject* o);

}  // namespace waitron::python
