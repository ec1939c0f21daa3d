// Runs the Python package's command line (waitron.runner.run) inside waitron-serve, in an
// embedded CPython: `waitron-serve [OPTS] MODULE:OBJECT` then behaves exactly as
// `python3 -m waitron [OPTS] MODULE:OBJECT`. If the package is not importable as is, the
// build tree's and the install's package folders are tried. Returns run()'s status.
// Threads: the main thread, once per process.
#pragma once

#include <string>
#include <vector>

namespace waitron::python {

int run_embedded_runner(const std::vector<std::string>& argv);

}  // namespace waitron::python
