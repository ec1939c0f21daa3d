#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

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
