#include "work/work_queue.hpp"

#include <cstdlib>
#include <utility>

namespace waitron::work {

WorkQueue::WorkQueue(uv_loop_t* loop, unsigned threads, ReadyCallback on_ready)
    : loop_(loop), thread_count_(threads), on_ready_(std::move(on_ready)) {}

WorkQueue::~WorkQueue() {
  // The server stops and closes the queue before destroying it; a joinable thread here
  // would terminate the process, so stop as a last resort.
  stop();
}

int WorkQueue::start() {
  loop_thread_ = std::this_thread::get_id();
  if (int rc = uv_async_init(loop_, &async_, &WorkQueue::on_async); rc != 0) return rc;
  async_.data = this;
  async_open_ = true;
  // Inline mode: ready pipes are delivered right after the I/O callbacks of the same loop
  // iteration. Threads: the threads are woken there for the jobs the loop thread submitted
  // during those callbacks, once per iteration. The check handle does not keep the loop
  // alive on its own.
  if (int rc = uv_check_init(loop_, &check_); rc != 0) return rc;
  check_.data = this;
  check_open_ = true;
  uv_check_start(&check_, &WorkQueue::on_check);
  uv_unref(reinterpret_cast<uv_handle_t*>(&check_));
  // Started while pipes are ready or threads wait to be woken, so that the loop does not
  // block in its poll phase before the check handle runs (a job submitted from a timer
  // callback, say).
  if (int rc = uv_idle_init(loop_, &idle_); rc != 0) return rc;
  idle_.data = this;
  idle_open_ = true;
  for (unsigned i = 0; i < thread_count_; ++i) threads_.emplace_back([this] { run_thread(); });
  return 0;
}

void WorkQueue::enqueue(Job job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
    queued_.fetch_add(1);
  }
  if (check_open_ && std::this_thread::get_id() == loop_thread_.load()) {
    // From the loop thread: the threads are woken at the end of the loop's I/O callbacks,
    // all jobs of the iteration at once. Woken at each submit, a thread on the same CPU
    // preempts the loop thread and the requests go through one at a time, a context switch
    // or two each, instead of in batches.
    if (unwoken_++ == 0) hold_poll_open();
    return;
  }
  wake_.notify_one();
}

void WorkQueue::hold_poll_open() {
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&idle_))) {
    uv_idle_start(&idle_, [](uv_idle_t*) {});
  }
}

void WorkQueue::wake_threads() noexcept {
  if (unwoken_ == 0) return;
  if (unwoken_ >= thread_count_) {
    wake_.notify_all();
  } else {
    for (std::uint64_t i = 0; i < unwoken_; ++i) wake_.notify_one();
  }
  unwoken_ = 0;
  if (idle_open_) uv_idle_stop(&idle_);
}

void WorkQueue::run_thread() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and nothing left to run
      job = std::move(jobs_.front());
      jobs_.pop_front();
      queued_.fetch_sub(1);
      busy_.fetch_add(1);
    }
    job();  // jobs are noexcept wrappers (see task.cpp)
    busy_.fetch_sub(1);
  }
}

void WorkQueue::notify(std::shared_ptr<ResponsePipe> pipe) {
  {
    std::lock_guard lock(ready_mutex_);
    ready_.push_back(std::move(pipe));
  }
  // In inline mode the check handle delivers what the loop thread itself pushed; a thread
  // of the application's own still wakes the loop. uv_async_send is the one libuv call that
  // is safe from any thread.
  if (inline_mode() && std::this_thread::get_id() == loop_thread_.load()) {
    hold_poll_open();
    return;
  }
  uv_async_send(&async_);
}

void WorkQueue::deliver_ready() noexcept {
  // Delivering a pipe can start the next pipelined request, which (inline) pushes again:
  // repeat until nothing is ready. Pipelining is bounded by the connection's lookahead.
  // The two vectors trade places, so neither side allocates once both have grown.
  for (;;) {
    {
      std::lock_guard lock(ready_mutex_);
      delivering_.swap(ready_);
    }
    if (delivering_.empty()) {
      if (idle_open_) uv_idle_stop(&idle_);
      return;
    }
    for (auto& pipe : delivering_) on_ready_(std::move(pipe));
    delivering_.clear();
  }
}

void WorkQueue::on_async(uv_async_t* handle) noexcept {
  static_cast<WorkQueue*>(handle->data)->deliver_ready();
}

void WorkQueue::on_check(uv_check_t* handle) noexcept {
  auto* self = static_cast<WorkQueue*>(handle->data);
  // The loop may run on another thread than the one that called start() (Python's run()).
  self->loop_thread_.store(std::this_thread::get_id());
  if (self->inline_mode()) {
    self->deliver_ready();
  } else {
    self->wake_threads();
  }
}

void WorkQueue::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void WorkQueue::close(std::function<void()> on_closed) {
  if (!async_open_ && !check_open_ && !idle_open_) {
    if (on_closed) on_closed();
    return;
  }
  on_closed_ = std::move(on_closed);
  const auto closed = [](uv_handle_t* h) {
    auto* self = static_cast<WorkQueue*>(h->data);
    if (--self->handles_closing_ == 0) {
      if (auto cb = std::exchange(self->on_closed_, nullptr)) cb();
    }
  };
  if (async_open_) {
    async_open_ = false;
    ++handles_closing_;
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), closed);
  }
  if (check_open_) {
    check_open_ = false;
    ++handles_closing_;
    uv_close(reinterpret_cast<uv_handle_t*>(&check_), closed);
  }
  if (idle_open_) {
    idle_open_ = false;
    ++handles_closing_;
    uv_close(reinterpret_cast<uv_handle_t*>(&idle_), closed);
  }
}

}  // namespace waitron::work
