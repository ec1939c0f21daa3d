// Conversions between Python objects and waitron's option values, for keyword arguments
// and for reporting an Adjustments back to Python. The Adjustments side is generated from
// the one option table (waitron/adjustment_options.inc). Threads: with the GIL held.
#pragma once

#include "python/py_ref.hpp"

#include <vector>

#include <waitron/adjustments.hpp>

namespace waitron::python {

// A Python value as an option value: None, str, int, bool, or a list/tuple/set of str or
// of int. False with TypeError set for anything else.
bool value_from_python(PyObject* value, OptionValue& out);

// An iterable of (name, value) pairs, or a dict, as named options.
bool options_from_python(PyObject* options, std::vector<NamedOption>& out);

// Every option's value: listen as "host:port" strings, trusted_proxy_headers as a set,
// unset optionals as None.
PyObject* adjustments_to_python(const Adjustments& adjustments);

// The option table: [{"name", "converter", "boolean", "help"}].
PyObject* option_table();

}  // namespace waitron::python
