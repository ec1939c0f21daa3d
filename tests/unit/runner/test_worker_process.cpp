#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "runner/worker_process.hpp"
#include "support/app_doubles.hpp"

using namespace waitron;

namespace {

struct NullApp final : App {
  void handle(Request&, Response&) override {}
};

}  // namespace

TEST_CASE("outside a worker, worker_app is the app itself and worker_ready writes nothing") {
  auto app = std::make_shared<NullApp>();
  CHECK_FALSE(runner::in_worker());
  CHECK(runner::worker_app(app) == app);
  // No status pipe: nothing is written, and this process does not become a worker.
  runner::worker_ready();
  CHECK_FALSE(runner::in_worker());
}

// Through real requests too: tests/functional/test_workers.py and tests/python/test_workers.py
// (max_requests).
TEST_CASE("in a worker, worker_ready says so once and worker_app retires at the limit once") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The worker state is for good: it is set in a child process, which reports by status.
    ::close(fds[0]);
    runner::become_worker(fds[1], 3);
    auto app = std::make_shared<NullApp>();
    auto counted = runner::worker_app(app);
    runner::worker_ready();
    runner::worker_ready();
    test::StubRequest request;
    test::RecordingResponse response;
    for (int i = 0; i < 5; ++i) counted->handle(request, response);  // limit 3: one 'M'
    ::_exit(runner::in_worker() ? 0 : 1);
  }
  ::close(fds[1]);
  std::string got;
  char buf[16];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(got == std::string{runner::kWorkerReady, runner::kWorkerRetiring});
}
