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
  if (int rc = uv_async_init(loop_, &async_, &WorkQueue::on_async); rc != 0) return rc;
  async_.data = this;
  async_open_ = true;
  for (unsigned i = 0; i < thread_count_; ++i) threads_.emplace_back([this] { run_thread(); });
  return 0;
}

void WorkQueue::submit(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
    queued_.fetch_add(1);
  }
  wake_.notify_one();
}

void WorkQueue::run_thread() {
  for (;;) {
    std::function<void()> job;
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
  // uv_async_send is the one libuv call that is safe from any thread.
  uv_async_send(&async_);
}

void WorkQueue::on_async(uv_async_t* handle) noexcept {
  auto* self = static_cast<WorkQueue*>(handle->data);
  std::vector<std::shared_ptr<ResponsePipe>> ready;
  {
    std::lock_guard lock(self->ready_mutex_);
    ready.swap(self->ready_);
  }
  for (auto& pipe : ready) self->on_ready_(std::move(pipe));
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
  if (!async_open_) {
    if (on_closed) on_closed();
    return;
  }
  on_closed_ = std::move(on_closed);
  async_open_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), [](uv_handle_t* h) {
    auto* self = static_cast<WorkQueue*>(h->data);
    if (auto cb = std::exchange(self->on_closed_, nullptr)) cb();
  });
}

}  // namespace waitron::work
