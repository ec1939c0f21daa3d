#include "runner/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <random>
#include <stdexcept>

#include "runner/worker_process.hpp"
#include "server/listen_sockets.hpp"

namespace waitron::runner {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGCHLD};
constexpr auto kQuickDeath = std::chrono::seconds(5);  // dying sooner counts toward back-off
constexpr auto kMaxBackoff = milliseconds(5000);
constexpr auto kKillMargin = std::chrono::seconds(10);  // past shutdown_timeout

// The self-pipe: the handlers write the signal's number, the loop reads it.
int g_signal_pipe[2] = {-1, -1};

void on_signal(int signum) noexcept {
  int saved = errno;
  auto byte = static_cast<unsigned char>(signum);
  [[maybe_unused]] ssize_t n = ::write(g_signal_pipe[1], &byte, 1);
  errno = saved;
}

struct Worker {
  pid_t pid = -1;
  int status_fd = -1;  // read end of the worker's status pipe; -1 after EOF
  Clock::time_point started;
  bool ready = false;
  bool retiring = false;        // to be replaced (SIGHUP, max_requests); still serving
  bool stopping = false;        // SIGTERM sent
  bool reopen_pending = false;  // SIGUSR1 arrived before it was ready: forward it then
  Clock::time_point kill_at;
};

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

// "0.1", "2.5": milliseconds as seconds with one decimal.
std::string seconds_text(milliseconds ms) {
  auto tenths = (ms.count() + 50) / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
}

class Supervisor {
 public:
  explicit Supervisor(const SupervisorSettings& s) : s_(s), random_(std::random_device{}()) {}

  SuperviseResult run() {
    if (!install_signals()) {
      log(core::LogLevel::error, std::string("supervisor: ") + std::strerror(errno));
      close_sockets();
      return {false, 1};
    }
    log(core::LogLevel::info, "supervisor " + std::to_string(::getpid()) + ": starting " +
                                  std::to_string(s_.workers) + " worker(s)");
    while (true) {
      if (!shutting_down_ && Clock::now() >= next_spawn_) {
        if (reconcile()) return {true, 0};  // in a new worker
      }
      if (shutting_down_ && workers_.empty()) break;
      wait_for_events();
      reap();
      enforce_deadlines();
    }
    log(core::LogLevel::info, "supervisor " + std::to_string(::getpid()) + ": exiting");
    restore_signals();
    close_sockets();
    return {false, exit_status_};
  }

 private:
  void log(core::LogLevel level, const std::string& message) {
    if (s_.log) s_.log(level, message);
  }

  // --- signals ---------------------------------------------------------------------------
  bool install_signals() {
    if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0) return false;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (std::size_t i = 0; i < std::size(kSignals); ++i) {
      ::sigaction(kSignals[i], &sa, &saved_[i]);
    }
    return true;
  }

  // Puts the previous handlers back and closes the self-pipe (supervisor and worker).
  void restore_signals() {
    for (std::size_t i = 0; i < std::size(kSignals); ++i) {
      ::sigaction(kSignals[i], &saved_[i], nullptr);
    }
    for (int& fd : g_signal_pipe) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  }

  void on_signal_received(int signum) {
    if (signum == SIGHUP && !shutting_down_) {
      int marked = 0;
      for (Worker& w : workers_) {
        if (!w.stopping && !w.retiring) {
          w.retiring = true;
          ++marked;
        }
      }
      log(core::LogLevel::info,
          "SIGHUP: replacing " + std::to_string(marked) + " worker(s) one by one");
    } else if (signum == SIGUSR1) {
      forward_reopen();
    } else if (signum == SIGINT || signum == SIGTERM) {
      if (!shutting_down_) {
        log(core::LogLevel::info, std::string(signum == SIGINT ? "SIGINT" : "SIGTERM") +
                                      ": stopping " + std::to_string(workers_.size()) +
                                      " worker(s)");
        shut_down(0);
      } else {
        log(core::LogLevel::warning,
            "second signal: killing " + std::to_string(workers_.size()) + " worker(s)");
        for (Worker& w : workers_) ::kill(w.pid, SIGKILL);
        exit_status_ = 1;
      }
    }
    // SIGCHLD: reap() runs after every wake-up.
  }

  // SIGUSR1: every ready worker reopens its access log now (the stopping ones too: they may
  // still finish requests), every other one once it is ready.
  void forward_reopen() {
    if (!s_.reopen_access_log) {
      log(core::LogLevel::info, "SIGUSR1: no access log to reopen, ignored");
      return;
    }
    int sent = 0;
    for (Worker& w : workers_) {
      if (w.ready) {
        if (::kill(w.pid, SIGUSR1) == 0) ++sent;
      } else {
        w.reopen_pending = true;
      }
    }
    log(core::LogLevel::info,
        "SIGUSR1: reopening the access log in " + std::to_string(sent) + " worker(s)");
  }

  // --- the workers -----------------------------------------------------------------------
  // Starts workers until there are enough, retires one that has a ready replacement, and
  // starts the next replacement. True in a new worker (the caller returns at once).
  bool reconcile() {
    auto active = [](const Worker& w) { return !w.stopping; };
    auto starting = [](const Worker& w) { return !w.stopping && !w.ready; };
    auto retiring = [](const Worker& w) { return !w.stopping && w.retiring; };
    std::int64_t slots = std::count_if(workers_.begin(), workers_.end(), active);
    bool any_starting = std::any_of(workers_.begin(), workers_.end(), starting);
    if (!any_starting && slots > s_.workers) {
      // A replacement is ready: the oldest worker to replace goes.
      auto old = std::find_if(workers_.begin(), workers_.end(), retiring);
      if (old != workers_.end()) {
        stop(*old, "replaced");
        --slots;
      }
    }
    while (slots < s_.workers) {
      if (spawn()) return true;
      ++slots;
      any_starting = true;
    }
    if (!any_starting && std::any_of(workers_.begin(), workers_.end(), retiring)) {
      if (spawn()) return true;
    }
    return false;
  }

  // Forks a worker. True in the child.
  bool spawn() {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) < 0) {
      log(core::LogLevel::error, std::string("cannot start a worker: ") + std::strerror(errno));
      next_spawn_ = Clock::now() + kMaxBackoff;
      return false;
    }
    std::uint64_t limit = 0;
    if (s_.max_requests > 0) {
      limit = static_cast<std::uint64_t>(s_.max_requests);
      if (s_.max_requests_jitter > 0) {
        std::uniform_int_distribution<std::int64_t> jitter(0, s_.max_requests_jitter);
        limit += static_cast<std::uint64_t>(jitter(random_));
      }
    }
    // The handlers must not run in the child before it has put the previous ones back.
    sigset_t block, previous;
    sigemptyset(&block);
    for (int sig : kSignals) sigaddset(&block, sig);
    ::sigprocmask(SIG_BLOCK, &block, &previous);
    if (s_.before_fork) s_.before_fork();
    pid_t supervisor = ::getpid();
    pid_t pid = ::fork();
    if (pid == 0) {
      if (s_.after_fork_child) s_.after_fork_child();
      become_child(pipe_fds, limit, supervisor, previous);
      return true;
    }
    if (s_.after_fork_parent) s_.after_fork_parent();
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    ::close(pipe_fds[1]);
    if (pid < 0) {
      log(core::LogLevel::error, std::string("cannot start a worker: ") + std::strerror(errno));
      ::close(pipe_fds[0]);
      next_spawn_ = Clock::now() + kMaxBackoff;
      return false;
    }
    Worker w;
    w.pid = pid;
    w.status_fd = pipe_fds[0];
    w.started = Clock::now();
    workers_.push_back(w);
    log(core::LogLevel::info, "worker " + std::to_string(pid) + " started" +
                                  (limit ? " (max_requests " + std::to_string(limit) + ")" : ""));
    return false;
  }

  // In the new worker: the supervisor's state goes, the previous signal dispositions
  // come back (SIGHUP and SIGINT ignored, see the header), and the worker state is set.
  void become_child(const int pipe_fds[2], std::uint64_t limit, pid_t supervisor,
                    const sigset_t& mask) {
    restore_signals();
    ::signal(SIGHUP, SIG_IGN);
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGUSR1, SIG_IGN);  // until its server reopens its access log on it
    ::sigprocmask(SIG_SETMASK, &mask, nullptr);
    for (Worker& w : workers_) {
      if (w.status_fd >= 0) ::close(w.status_fd);
    }
    workers_.clear();
    ::close(pipe_fds[0]);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != supervisor) ::raise(SIGTERM);  // it died before prctl()
    become_worker(pipe_fds[1], limit);
  }

  void stop(Worker& w, const char* why) {
    if (w.stopping) return;
    w.stopping = true;
    w.kill_at = Clock::now() + std::chrono::seconds(s_.shutdown_timeout) + kKillMargin;
    ::kill(w.pid, SIGTERM);
    log(core::LogLevel::info, "worker " + std::to_string(w.pid) + " " + why + ": SIGTERM");
  }

  void shut_down(int status) {
    shutting_down_ = true;
    exit_status_ = status;
    close_sockets();  // new connections are refused once the workers close theirs too
    for (Worker& w : workers_) stop(w, "stopping");
  }

  void close_sockets() {
    for (int fd : s_.sockets) ::close(fd);
    s_.sockets.clear();
  }

  // --- events ----------------------------------------------------------------------------
  void wait_for_events() {
    std::vector<pollfd> fds;
    fds.push_back({g_signal_pipe[0], POLLIN, 0});
    for (const Worker& w : workers_) {
      if (w.status_fd >= 0) fds.push_back({w.status_fd, POLLIN, 0});
    }
    auto timeout = milliseconds(1000);
    auto now = Clock::now();
    if (!shutting_down_ && next_spawn_ > now) {
      timeout = std::min(
          timeout, std::chrono::duration_cast<milliseconds>(next_spawn_ - now) + milliseconds(1));
    }
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
    if (n <= 0) return;  // a timeout, or EINTR: the signal's byte is in the pipe
    if (fds[0].revents) {
      unsigned char bytes[64];
      ssize_t got;
      while ((got = ::read(g_signal_pipe[0], bytes, sizeof bytes)) > 0) {
        for (ssize_t i = 0; i < got; ++i) on_signal_received(bytes[i]);
      }
    }
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents) read_status(fds[i].fd);
    }
  }

  void read_status(int fd) {
    auto w = std::find_if(workers_.begin(), workers_.end(),
                          [fd](const Worker& x) { return x.status_fd == fd; });
    if (w == workers_.end()) return;
    char bytes[16];
    ssize_t got = ::read(fd, bytes, sizeof bytes);
    if (got <= 0) {
      if (got < 0 && errno == EINTR) return;
      ::close(fd);  // the worker closed it: it is exiting
      w->status_fd = -1;
      return;
    }
    for (ssize_t i = 0; i < got; ++i) {
      if (bytes[i] == kWorkerReady && !w->ready) {
        w->ready = true;
        ever_ready_ = true;
        log(core::LogLevel::info, "worker " + std::to_string(w->pid) + " ready");
        if (w->reopen_pending) {
          w->reopen_pending = false;
          ::kill(w->pid, SIGUSR1);
          log(core::LogLevel::info,
              "worker " + std::to_string(w->pid) + ": SIGUSR1 (arrived while it started)");
        }
      } else if (bytes[i] == kWorkerRetiring && !w->retiring && !w->stopping) {
        w->retiring = true;
        log(core::LogLevel::info,
            "worker " + std::to_string(w->pid) + " reached max_requests: replacing it");
      }
    }
  }

  void reap() {
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      auto w = std::find_if(workers_.begin(), workers_.end(),
                            [pid](const Worker& x) { return x.pid == pid; });
      if (w == workers_.end()) continue;
      Worker gone = *w;
      workers_.erase(w);
      if (gone.status_fd >= 0) ::close(gone.status_fd);
      std::string who = "worker " + std::to_string(pid) + " ";
      if (gone.stopping) {
        log(core::LogLevel::info, who + describe_status(status));
        continue;
      }
      if (!ever_ready_) {
        log(core::LogLevel::error,
            who + describe_status(status) + " before it was ready: " + "failed to boot, stopping");
        shut_down(1);
        continue;
      }
      auto now = Clock::now();
      quick_deaths_ = now - gone.started < kQuickDeath ? quick_deaths_ + 1 : 0;
      auto delay = milliseconds(0);
      if (quick_deaths_ > 0) {
        delay = std::min(kMaxBackoff, milliseconds(100) * (1 << std::min(quick_deaths_ - 1, 6)));
      }
      next_spawn_ = std::max(next_spawn_, now + delay);
      log(core::LogLevel::warning,
          who + describe_status(status) + "; starting another in " + seconds_text(delay) + " s");
    }
  }

  void enforce_deadlines() {
    auto now = Clock::now();
    for (Worker& w : workers_) {
      if (w.stopping && now >= w.kill_at) {
        log(core::LogLevel::warning,
            "worker " + std::to_string(w.pid) + " still running after SIGTERM: SIGKILL");
        ::kill(w.pid, SIGKILL);
        w.kill_at = Clock::time_point::max();
      }
    }
  }

  SupervisorSettings s_;
  std::mt19937_64 random_;
  std::vector<Worker> workers_;
  struct sigaction saved_[std::size(kSignals)]{};
  Clock::time_point next_spawn_{};
  int quick_deaths_ = 0;
  bool ever_ready_ = false;
  bool shutting_down_ = false;
  int exit_status_ = 0;
};

}  // namespace

bool wants_workers(const Adjustments& adj) noexcept {
  return adj.workers > 1 || adj.max_requests > 0;
}

void check_worker_options(const Adjustments& adj) {
  if (wants_workers(adj) && adj.status_listen) {
    throw std::invalid_argument(
        "status_listen is per process and cannot be used with workers yet "
        "(workers > 1 or max_requests > 0)");
  }
}

SupervisorSettings supervisor_settings(const Adjustments& adj, std::vector<int> sockets) {
  SupervisorSettings s;
  s.workers = adj.workers;
  s.max_requests = adj.max_requests;
  s.max_requests_jitter = adj.max_requests_jitter;
  s.shutdown_timeout = adj.shutdown_timeout;
  s.reopen_access_log = adj.access_log.has_value();
  s.sockets = std::move(sockets);
  return s;
}

std::vector<int> open_worker_sockets(const Adjustments& adj) {
  std::vector<int> fds;
  for (net::ListenSocket& sock : server::open_listen_sockets(adj)) fds.push_back(sock.fd.release());
  return fds;
}

Adjustments worker_adjustments(Adjustments adj, const std::vector<int>& sockets) {
  const Adjustments defaults;
  adj.host = defaults.host;
  adj.port = defaults.port;
  adj.listen = defaults.listen;
  adj.unix_socket = defaults.unix_socket;
  adj.sockets = sockets;
  return adj;
}

SuperviseResult supervise(const SupervisorSettings& settings) noexcept {
  try {
    Supervisor supervisor(settings);
    return supervisor.run();
  } catch (const std::exception& e) {
    if (settings.log) settings.log(core::LogLevel::error, std::string("supervisor: ") + e.what());
    return {false, 1};
  }
}

}  // namespace waitron::runner
