// waitron-serve's worker processes: a supervisor that forks `workers` copies of the server.
//
// One implementation for both command lines. The C++ runner (runner.cpp) calls supervise()
// for the native app; the Python runner (python/waitron/runner.py, also what waitron-serve
// runs for MODULE:OBJECT in its embedded CPython) calls it through _waitron.supervise().
// supervise() returns twice, as fork() does: in the supervisor, once every worker is gone,
// with the exit status; in each worker, at once, with is_worker set. The worker then does
// what a single process does (imports the Python application, like gunicorn without
// preload, builds its Server, its libuv loop and its application threads) and serves the
// inherited sockets. Nothing in the supervisor starts a thread or a libuv loop: it is one
// thread in poll(), so fork() copies no lock held by another thread and no loop's epoll
// descriptor.
//
// Shared sockets, not SO_REUSEPORT: the caller opens the listening sockets once
// (open_worker_sockets()) and every worker inherits them. The supervisor keeps its copies
// open until it shuts down, so a connection is never refused while workers come and go:
// it waits in the backlog until a worker accepts it. With SO_REUSEPORT each worker would
// have a listening socket of its own, and the connections queued on a closing worker's
// socket are reset. (The price: the kernel wakes every idle worker for a new connection and
// one wins the accept; the load is not balanced by a hash.) systemd's sockets
// (LISTEN_FDS) arrive through the same path, as adopted `sockets`.
//
// The supervisor:
// - starts `workers` workers; a worker is ready when its byte 'R' arrives on its status pipe
//   (worker_process.hpp);
// - restarts a worker that dies; when workers die within 5 s of their start again and
//   again, each restart waits longer (0.1 s, doubling, at most 5 s). A worker that dies
//   before any worker was ever ready is a failure to boot (an application that does not
//   import, an address in use): the supervisor stops the others and returns 1;
// - SIGHUP replaces the workers one by one: it starts a new worker, waits until it is
//   ready, then sends SIGTERM (a graceful close, shutdown_timeout) to one old worker, and
//   so on until none is left; a new worker that fails leaves the old ones serving;
// - max_requests: a worker that has served its limit (max_requests plus a random jitter in
//   [0, max_requests_jitter], drawn for each worker) says so ('M'), and is replaced as on
//   SIGHUP: the replacement first, then SIGTERM. It keeps serving meanwhile;
// - SIGUSR1 (log rotation) with reopen_access_log: sends SIGUSR1 to every ready worker, which
//   reopens its access log; a worker not ready yet gets it when it becomes ready (it has
//   installed its handler by then, see worker_ready()), since it may have opened the file
//   before it was renamed. Without reopen_access_log the supervisor logs and ignores it;
// - SIGTERM or SIGINT: closes its copies of the sockets, sends SIGTERM to every worker and
//   returns 0 once all have exited; a worker still alive shutdown_timeout + 10 s later is
//   killed. A second SIGTERM or SIGINT kills every worker (SIGKILL) and returns 1;
// - logs one line per event, naming the worker's pid ("worker 1234 ready").
// Workers ignore SIGHUP and SIGINT until their server handles SIGINT and SIGTERM, and
// SIGUSR1 until their server handles it (with an access log; without one, for good), and get
// SIGTERM if the supervisor dies (PR_SET_PDEATHSIG).
//
// Threads: the main thread of a process that has no other thread (a Python process
// whose only thread holds the GIL). supervise() installs its own handlers for SIGINT,
// SIGTERM, SIGHUP and SIGCHLD and puts the previous ones back before it returns, in
// either process.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <waitron/adjustments.hpp>

#include "core/log.hpp"

namespace waitron::runner {

struct SupervisorSettings {
  std::int64_t workers = 1;
  std::int64_t max_requests = 0;  // 0: never
  std::int64_t max_requests_jitter = 0;
  std::int64_t shutdown_timeout = 5;
  bool reopen_access_log = false;  // SIGUSR1 is forwarded to the workers (an access log)
  // The listening sockets, inherited by every worker; the supervisor closes its copies
  // when it shuts down.
  std::vector<int> sockets;
  std::function<void(core::LogLevel, const std::string&)> log;
  // Called around fork() (Python's PyOS_BeforeFork and PyOS_AfterFork_*), if set.
  std::function<void()> before_fork;
  std::function<void()> after_fork_parent;
  std::function<void()> after_fork_child;
};

struct SuperviseResult {
  bool is_worker = false;  // true in a worker, which serves next
  int exit_status = 0;     // the supervisor's: 0 after SIGTERM/SIGINT, 1 otherwise
};

// Whether these options ask for worker processes: workers > 1 or max_requests > 0.
[[nodiscard]] bool wants_workers(const Adjustments& adj) noexcept;

// Throws std::invalid_argument when adj combines worker processes (wants_workers()) with an
// option that cannot work in them yet: status_listen, a listener of each server's own,
// which every worker would try to bind. The runners call it before opening any socket.
void check_worker_options(const Adjustments& adj);

// The settings of adj (workers, max_requests, jitter, shutdown_timeout, whether there is
// an access log), serving `sockets`.
[[nodiscard]] SupervisorSettings supervisor_settings(const Adjustments& adj,
                                                     std::vector<int> sockets);

// Opens the sockets adj asks for (server::open_listen_sockets()) and returns their
// descriptors, which the caller owns. Throws as open_listen_sockets() does.
[[nodiscard]] std::vector<int> open_worker_sockets(const Adjustments& adj);

// adj for a worker: serving `sockets`, with host, port, listen and unix_socket back at
// their defaults (they exclude sockets).
[[nodiscard]] Adjustments worker_adjustments(Adjustments adj, const std::vector<int>& sockets);

// See above. Never throws: a failure to set up (no pipe, no fork) is logged and returns 1.
SuperviseResult supervise(const SupervisorSettings& settings) noexcept;

}  // namespace waitron::runner
