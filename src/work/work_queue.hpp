// The server's own pool of application threads, and the way results come back to the loop.
//
// libuv's uv_queue_work pool is process-wide, shared with the host's file and DNS work, and
// sized once per process, so it cannot honour `threads` when waitron is embedded. This pool
// belongs to one server. Jobs run in FIFO order on `threads` threads. A pipe with response
// events is handed back with notify(): the pipe joins a ready list and a uv_async_t wakes
// the loop, which calls on_ready for each ready pipe (the only crossing from application
// threads to the loop thread).
//
// Threads: construct, start(), stop(), close() and the callbacks run on the loop thread;
// submit() and notify() may be called from any thread; counters are atomic.
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
  // Queues a job for an application thread.
  void submit(std::function<void()> job);
  void notify(std::shared_ptr<ResponsePipe> pipe) override;
  // Joins the threads once the queued jobs have run. Call when no job is in flight.
  void stop();
  // Closes the uv_async_t; on_closed runs on the loop thread once it is closed.
  void close(std::function<void()> on_closed);

  [[nodiscard]] std::uint64_t queue_depth() const noexcept { return queued_.load(); }
  [[nodiscard]] std::uint64_t busy_threads() const noexcept { return busy_.load(); }

 private:
  static void on_async(uv_async_t* handle) noexcept;
  void run_thread();

  uv_loop_t* loop_;
  unsigned thread_count_;
  ReadyCallback on_ready_;
  uv_async_t async_{};
  bool async_open_ = false;
  std::function<void()> on_closed_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::atomic<std::uint64_t> queued_{0};
  std::atomic<std::uint64_t> busy_{0};

  std::mutex ready_mutex_;
  std::vector<std::shared_ptr<ResponsePipe>> ready_;
};

}  // namespace waitron::work
