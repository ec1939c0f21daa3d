// The worker side of waitron-serve's worker processes (the supervisor is supervisor.hpp).
//
// A worker is a process forked by the supervisor. supervise() calls become_worker() in the
// child, before anything else runs there, with the write end of the worker's status pipe
// and its request limit (max_requests plus its jitter; 0 for none). From then on the
// process is a worker, for good:
//
// - worker_ready() tells the supervisor that the worker's server listens and handles its
//   signals (one byte 'R', written once): the supervisor forwards SIGUSR1 to ready workers
//   only. The runner calls it after Server::start() and its uv_signal_start() calls; the
//   Python bridge's server object calls it in run(), once its signal handlers are in place.
// - worker_app(app) wraps the application in a counter of requests: when the count reaches
//   the limit it tells the supervisor (one byte 'M', once), which starts a replacement,
//   waits until it is ready, then sends this worker SIGTERM (a graceful close). The count
//   is this wrapper's own (requests that reached the application), independent of the
//   server's statistics. Outside a worker, or without a limit, the app is returned as is.
// - in_worker() is true: a repeated SIGTERM or SIGINT must not cut the worker's requests
//   (the terminal's Ctrl-C reaches the whole process group, and systemd's default
//   KillMode signals every process of the unit, while the supervisor forwards SIGTERM
//   too). The supervisor alone decides to kill at once (SIGKILL after a second signal).
//
// Threads: become_worker() on the only thread, before any other exists; worker_ready() and
// in_worker() from any thread; the wrapped App from every application thread.
#pragma once

#include <cstdint>
#include <memory>

#include <waitron/app.hpp>

namespace waitron::runner {

// The bytes a worker writes on its status pipe.
inline constexpr char kWorkerReady = 'R';
inline constexpr char kWorkerRetiring = 'M';

void become_worker(int status_fd, std::uint64_t max_requests) noexcept;
[[nodiscard]] bool in_worker() noexcept;
void worker_ready() noexcept;
[[nodiscard]] std::shared_ptr<App> worker_app(std::shared_ptr<App> app);

}  // namespace waitron::runner
