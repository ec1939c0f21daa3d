// The `waitron-serve` command, as a function so that other programs (the test fixture
// server) run the same command line with their own native App.
//
//   waitron-serve [OPTS] [MODULE:OBJECT]
//
// Options are waitress-serve's (--name=value, --no-name for booleans, repeatable --listen)
// plus --config=FILE.json; --help prints the help to stdout. With no application the
// native `default_app` is served; with one, the Python package's runner runs it in an
// embedded CPython. SIGINT and SIGTERM close the server gracefully (in-flight requests
// finish); a second signal exits at once. systemd's LISTEN_FDS sockets are used when no
// listen option is given. With --workers=N (N > 1) or --max-requests, the process becomes
// the supervisor of worker processes (supervisor.hpp) and each worker serves the app on
// its own loop. Returns the exit status: 0 after a clean shutdown, 1 for a usage or
// start-up error (printed to stderr with the help text, as waitress does).
//
// Threads: call from the main thread of a process that has no other thread yet (the
// supervisor forks); it runs the default libuv loop until the server closes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <waitron/app.hpp>
#include <waitron/server.hpp>

namespace waitron::runner {

int run(const std::vector<std::string>& argv, std::shared_ptr<App> default_app);

// Set while run() serves: the server, for a fixture app that reports its counters.
Server* current_server() noexcept;

}  // namespace waitron::runner
