// The server's own pool of application threads, and the way results come back to the loop.
//
// libuv's uv_queue_work pool is process-wide, shared with the host's file and DNS work, and
// sized once per process, so it cannot honour `threads` when waitron is embedded. This pool
// belongs to one server. Jobs run in FIFO order on `threads` threads. A pipe with response
// events is handed back with notify(): the pipe joins a ready list and a uv_async_t wakes
// the loop, which calls on_ready for each ready pipe (the only crossing from application
// threads to the loop thread).
//
// With threads, jobs submitted on the loop thread wake the threads once per loop iteration,
// from the same uv_check_t, after every I/O callback of the iteration has run: the requests
// that arrived together go to the threads together.
//
// Inline mode (threads == 0, for applications that never block): submit() runs the job at
// once on the loop thread, and the pipes it makes ready are delivered by a uv_check_t right
// after the I/O callbacks of the same loop iteration, with no thread hop and no wake-up (a
// uv_idle_t, active only while pipes wait, keeps the poll phase from blocking before that).
//
// Threads: construct, start(), stop(), close() and the callbacks run on the loop thread;
// submit() may be called from any thread with threads > 0 and only on the loop thread in
// inline mode; notify() from any thread; counters are atomic.
#pragma once

#include <uv.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "work/response_pipe.hpp"

namespace waitron::work {

class WorkQueue final : public PipeNotifier {
 public:
  using ReadyCallback = std::function<void(std::shared_ptr<ResponsePipe>)>;

  WorkQueue(uv_loop_t* loop, unsigned threads, ReadyCallback on_ready);
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;
  ~WorkQueue() override;

  // Initialises the uv_async_t and starts the threads. Returns a libuv error or 0.
  int start();
  // A queued job: any callable taking no argument, moved in (it may own its request, so it
  // need not be copyable as std::function requires); one allocation.
  class Job {
   public:
    Job() = default;
    template <typename F>
    explicit Job(F&& f) : impl_(std::make_unique<Impl<std::decay_t<F>>>(std::forward<F>(f))) {}
    void operator()() { impl_->run(); }

   private:
    struct Base {
      virtual ~Base() = default;
      virtual void run() = 0;
    };
    template <typename F>
    struct Impl final : Base {
      explicit Impl(F&& fn) : f(std::move(fn)) {}
      explicit Impl(const F& fn) : f(fn) {}
      void run() override { f(); }
      F f;
    };
    std::unique_ptr<Base> impl_;
  };

  // Runs `job` (a callable; must not throw, see task.cpp) on an application thread, or at
  // once in inline mode, where it is neither copied nor allocated.
  template <typename F>
  void submit(F&& job) {
    if (inline_mode()) {
      // Its response events wait in ready_ for on_check, so the caller is never re-entered.
      busy_.store(1);
      job();
      busy_.store(0);
      return;
    }
    enqueue(Job(std::forward<F>(job)));
  }
  void notify(std::shared_ptr<ResponsePipe> pipe) override;
  // Joins the threads once the queued jobs have run. Call when no job is in flight.
  void stop();
  // Closes the uv_async_t; on_closed runs on the loop thread once it is closed.
  void close(std::function<void()> on_closed);

  [[nodiscard]] std::uint64_t queue_depth() const noexcept { return queued_.load(); }
  [[nodiscard]] std::uint64_t busy_threads() const noexcept { return busy_.load(); }
  [[nodiscard]] bool inline_mode() const noexcept { return thread_count_ == 0; }

 private:
  static void on_async(uv_async_t* handle) noexcept;
  static void on_check(uv_check_t* handle) noexcept;
  void deliver_ready() noexcept;
  void wake_threads() noexcept;  // wakes threads for the jobs of the loop iteration
  // Keeps the next poll phase from blocking until the check handle has run (which stops the
  // idle handle again).
  void hold_poll_open();
  void enqueue(Job job);
  void run_thread();

  uv_loop_t* loop_;
  unsigned thread_count_;
  ReadyCallback on_ready_;
  uv_async_t async_{};
  bool async_open_ = false;
  uv_check_t check_{};
  bool check_open_ = false;
  uv_idle_t idle_{};
  bool idle_open_ = false;
  int handles_closing_ = 0;
  // The thread running the loop: set by start() and again at each check phase, since a host
  // may start the server on one thread and run the loop on another (Python's run()); until
  // the first check phase there, its pipes take the uv_async_t path, which works from any
  // thread.
  std::atomic<std::thread::id> loop_thread_;
  std::function<void()> on_closed_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  std::uint64_t unwoken_ = 0;  // loop thread: jobs queued whose threads are not woken yet
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::atomic<std::uint64_t> queued_{0};
  std::atomic<std::uint64_t> busy_{0};

  std::mutex ready_mutex_;
  std::vector<std::shared_ptr<ResponsePipe>> ready_;
  std::vector<std::shared_ptr<ResponsePipe>> delivering_;  // loop thread: swapped with ready_
};

}  // namespace waitron::work
