// The WSGI environ of one request (PEP 3333, waitress-behaviour.md §4.10), built on the
// application thread with the GIL held from the variables of Request::visit_environ() (the
// CGI keys as waitress sets them, under interned keys made once), decoded as latin-1, plus
// the wsgi.* keys, wsgi.input,
// and the client-disconnected callables under both "waitron.client_disconnected" and
// "waitress.client_disconnected".
#pragma once

#include "python/py_ref.hpp"

#include <string>

#include <waitron/request.hpp>

namespace waitron::python {

struct BridgeTypes;

bool init_environ_types(BridgeTypes& types);

// A callable answering request.client_disconnected(); detach it when the request ends
// (it then answers True). New reference, or null with an exception set.
PyObject* new_disconnect_check(const BridgeTypes& types, const Request* request);
void detach_disconnect_check(PyObject* check);

// The environ dict: the request's variables as visit_environ() gives them (wsgi.url_scheme
// included, as the proxy rules may have rewritten it), then the wsgi.* and waitress.* keys.
// Null with an exception set on failure.
PyObject* build_environ(const BridgeTypes& types, const Request& request, PyObject* input,
                        PyObject* check);

}  // namespace waitron::python
