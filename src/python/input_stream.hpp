// wsgi.input: a Python file object over the request body, in C++ (seed 003).
//
// read(n), readline(n), readlines(hint), iteration, seek/tell, find(sub, start, end) with
// memchr/memmem, read_nonblock(n), readable_amount(), at_eof(), readable/seekable, close,
// len(), and the buffer protocol: memoryview(environ["wsgi.input"]) is a read-only view of
// the body with no copy while the body is in memory (bodies past inbuf_overflow live in a
// temporary file and are read with pread; memoryview then raises BufferError).
//
// Normally the body is complete when the application starts and no read waits. With
// stream_request_body it is still arriving: read(), readline(), readlines(), iteration and
// seek(..., 2) then wait, with the GIL released, for the bytes they need; read_nonblock(),
// readable_amount(), len(), find() and at_eof() look only at the bytes that have arrived;
// memoryview works once the body is complete. If the body cannot complete (the client
// left, the body was malformed or too large) a read raises waitron.ClientDisconnected (an
// OSError). The stream keeps the body alive (a shared BodyReader), so it stays valid even
// if the application keeps it after the request. Positions and find()'s indices count from
// the start of the body. Threads: Python objects, used with the GIL held.
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
