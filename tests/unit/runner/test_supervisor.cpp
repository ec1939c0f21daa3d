#include <doctest/doctest.h>

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "runner/supervisor.hpp"
#include "runner/worker_process.hpp"

using namespace waitron;

TEST_CASE("worker processes are wanted for workers > 1 or a request limit") {
  Adjustments adj;
  CHECK_FALSE(runner::wants_workers(adj));
  adj.workers = 2;
  CHECK(runner::wants_workers(adj));
  adj.workers = 1;
  adj.max_requests = 100;
  CHECK(runner::wants_workers(adj));
}

TEST_CASE("a worker's adjustments serve the inherited sockets instead of the addresses") {
  Adjustments adj;
  adj.listen = {{"127.0.0.1", "0"}};
  adj.threads = 3;
  std::vector<int> fds = runner::open_worker_sockets(adj);
  REQUIRE(fds.size() == 1);
  Adjustments worker = runner::worker_adjustments(adj, fds);
  CHECK(worker.sockets == fds);
  CHECK(worker.threads == 3);
  CHECK(validate(worker).empty());  // sockets exclude listen, host, port and unix_socket
  ::close(fds[0]);
}

TEST_CASE("supervise starts the workers, and SIGTERM stops them and returns 0") {
  runner::SupervisorSettings settings;
  settings.workers = 2;
  std::vector<std::string> lines;
  settings.log = [&lines](core::LogLevel, const std::string& line) { lines.push_back(line); };
  pid_t supervisor = ::getpid();
  runner::SuperviseResult result = runner::supervise(settings);
  if (result.is_worker) {
    // A worker: say ready; the second one asks the supervisor to stop. Each then waits
    // for the supervisor's SIGTERM (the default disposition ends it).
    ::signal(SIGTERM, SIG_DFL);  // not doctest's crash handler
    runner::worker_ready();
    // The log as it was at fork(): the second worker sees its first sibling's start.
    if (lines.size() >= 2) ::kill(supervisor, SIGTERM);
    for (int i = 0; i < 100; ++i) ::usleep(100000);
    ::_exit(3);  // no SIGTERM within 10 s
  }
  CHECK(result.exit_status == 0);
  std::string log;
  for (const auto& line : lines) log += line + "\n";
  INFO(log);
  CHECK(log.find("starting 2 worker(s)") != std::string::npos);
  CHECK(log.find("SIGTERM: stopping 2 worker(s)") != std::string::npos);
  CHECK(log.find("was killed by signal 15") != std::string::npos);
  CHECK(log.find("exited with status 3") == std::string::npos);
  CHECK(log.find("exiting") != std::string::npos);
}

TEST_CASE("status_listen is refused with worker processes, accepted without") {
  Adjustments adj;
  adj.status_listen = "127.0.0.1:9100";
  CHECK_NOTHROW(runner::check_worker_options(adj));
  adj.workers = 2;
  CHECK_THROWS_WITH_AS(runner::check_worker_options(adj),
                       doctest::Contains("status_listen is per process"), std::invalid_argument);
  adj.workers = 1;
  adj.max_requests = 10;
  CHECK_THROWS_AS(runner::check_worker_options(adj), std::invalid_argument);
  adj.status_listen.reset();
  CHECK_NOTHROW(runner::check_worker_options(adj));
}

namespace {
volatile sig_atomic_t g_usr1 = 0;
}

TEST_CASE("SIGUSR1 that arrives before a worker is ready reaches it once it is ready") {
  // The supervisor's log lines go to a pipe that the worker reads: it knows when the
  // supervisor has handled its SIGUSR1.
  int lines[2];
  REQUIRE(::pipe(lines) == 0);
  runner::SupervisorSettings settings;
  settings.workers = 1;
  settings.reopen_access_log = true;
  std::vector<std::string> log_lines;
  settings.log = [&log_lines, &lines](core::LogLevel, const std::string& line) {
    log_lines.push_back(line);
    std::string text = line + "\n";
    [[maybe_unused]] ssize_t n = ::write(lines[1], text.data(), text.size());
  };
  pid_t supervisor = ::getpid();
  runner::SuperviseResult result = runner::supervise(settings);
  if (result.is_worker) {
    ::signal(SIGTERM, SIG_DFL);  // not doctest's crash handler
    ::signal(SIGUSR1, [](int) { g_usr1 = 1; });
    ::close(lines[1]);
    ::kill(supervisor, SIGUSR1);  // before worker_ready(): the supervisor must wait
    std::string seen;
    char buf[256];
    while (seen.find("SIGUSR1: reopening the access log in") == std::string::npos) {
      pollfd in{lines[0], POLLIN, 0};
      if (::poll(&in, 1, 10000) <= 0) ::_exit(5);  // nothing within 10 s
      ssize_t got = ::read(lines[0], buf, sizeof buf);
      if (got <= 0) ::_exit(5);
      seen.append(buf, static_cast<std::size_t>(got));
    }
    if (g_usr1) ::_exit(4);  // forwarded to a worker that was not ready
    runner::worker_ready();
    for (int i = 0; i < 100 && !g_usr1; ++i) ::usleep(100000);
    if (!g_usr1) ::_exit(3);  // not forwarded within 10 s of ready
    ::kill(supervisor, SIGTERM);
    for (int i = 0; i < 100; ++i) ::usleep(100000);
    ::_exit(6);  // no SIGTERM within 10 s
  }
  ::close(lines[0]);
  ::close(lines[1]);
  CHECK(result.exit_status == 0);
  std::string log;
  for (const auto& line : log_lines) log += line + "\n";
  INFO(log);
  CHECK(log.find("SIGUSR1 (arrived while it started)") != std::string::npos);
  CHECK(log.find("was killed by signal 15") != std::string::npos);
  CHECK(log.find("exited with status") == std::string::npos);
}
