#include "runner/worker_process.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace waitron::runner {

namespace {

// Written once by become_worker(), before any thread exists; read-only afterwards.
int g_status_fd = -1;
std::uint64_t g_max_requests = 0;
std::atomic<bool> g_ready_sent{false};

void tell_supervisor(char byte) noexcept {
  // One byte on a pipe never blocks for long and is atomic; a supervisor that is gone
  // (EPIPE; SIGPIPE is ignored by the server) has nothing left to be told.
  while (::write(g_status_fd, &byte, 1) < 0 && errno == EINTR) {
  }
}

class CountingApp final : public App {
 public:
  CountingApp(std::shared_ptr<App> inner, std::uint64_t limit)
      : inner_(std::move(inner)), limit_(limit) {}

  void handle(Request& request, Response& response) override {
    if (count_.fetch_add(1, std::memory_order_relaxed) + 1 == limit_) {
      tell_supervisor(kWorkerRetiring);
    }
    inner_->handle(request, response);
  }

 private:
  std::shared_ptr<App> inner_;
  std::uint64_t limit_;
  std::atomic<std::uint64_t> count_{0};
};

}  // namespace

void become_worker(int status_fd, std::uint64_t max_requests) noexcept {
  g_status_fd = status_fd;
  g_max_requests = max_requests;
}

bool in_worker() noexcept {
  return g_status_fd >= 0;
}

void worker_ready() noexcept {
  if (in_worker() && !g_ready_sent.exchange(true)) tell_supervisor(kWorkerReady);
}

std::shared_ptr<App> worker_app(std::shared_ptr<App> app) {
  if (!in_worker() || g_max_requests == 0) return app;
  return std::make_shared<CountingApp>(std::move(app), g_max_requests);
}

}  // namespace waitron::runner
