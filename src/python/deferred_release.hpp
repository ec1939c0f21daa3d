// Python references released later, by a thread that holds the GIL.
//
// A large bytes chunk goes to the socket without a copy: the server keeps a reference to
// the bytes object until they are written, and drops it on the loop thread, which must
// never take the GIL. hold() makes that reference: its deleter only queues the object, and
// release_pending() (called by application threads at each request, and when a server
// closes) drops the queued references with the GIL held. Threads: hold() and
// release_pending() with the GIL held; the deleter from any thread.
#pragma once

#include "python/py_ref.hpp"

#include <memory>

namespace waitron::python {

// A new reference to `o`, as an owner for http::SharedBytes.
std::shared_ptr<const void> hold(PyObject* o);

// Drops every queued reference. The GIL must be held.
void release_pending() noexcept;

}  // namespace waitron::python
