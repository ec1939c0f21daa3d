// wsgi.input: a Python file object over the request body, in C++ (seed 003).
//
// read(n), readline(n), readlines(hint), iteration, seek/tell, find(sub, start, end) with
// memchr/memmem, read_nonblock(n), readable_amount(), at_eof(), readable/seekable, close,
// len(), and the buffer protocol: memoryview(environ["wsgi.input"]) is a read-only view of
// the body with no copy while the body is in memory (bodies past inbuf_overflow live in a
// temporary file and are read with pread; memoryview then raises BufferError).
//
// The body is complete when the application starts, so no read blocks on the network. The
// stream keeps the body alive (a shared BodyReader), so it stays valid even if the
// application keeps it after the request. Positions and find()'s indices count from the
// start of the body. Threads: Python objects, used with the GIL held.
#pragma once

#include "python/py_ref.hpp"

#include <memory>

#include <waitron/request.hpp>

namespace waitron::python {

// Creates the type; returns a new reference or null with an exception set.
PyObject* make_input_stream_type();

// A new stream over `body` (the reader's position is not used: the stream has its own).
PyObject* new_input_stream(PyObject* type, std::shared_ptr<BodyReader> body);

}  // namespace waitron::python
