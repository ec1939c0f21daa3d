#include "work/response_pipe.hpp"

#include <utility>

namespace waitron::work {

void ResponsePipe::push(ResponseEvent&& event) {
  bool first;
  {
    auto locked = lock();
    if (disconnected_.load()) return;
    std::uint64_t added = 0;
    if (event.kind == ResponseEvent::Kind::bytes || event.kind == ResponseEvent::Kind::start) {
      added = event.bytes.size();
    }
    if (event.kind == ResponseEvent::Kind::shared) added = event.shared.bytes.size();
    // Written under the mutex only: a plain load and store, no atomic read-modify-write.
    if (added != 0) pending_bytes_.store(pending_bytes_.load(std::memory_order_relaxed) + added);
    // A response is usually a start, a body and a finish: room for those at once, not three
    // reallocations (and none at all once the two vectors have grown, see take()).
    if (events_.capacity() == 0) events_.reserve(4);
    events_.push_back(std::move(event));
    first = !scheduled_;
    scheduled_ = true;
  }
  // One notification per batch: the loop takes every event queued until then.
  if (first) notifier_.notify(shared_from_this());
}

bool ResponsePipe::wait_for_room() {
  // Below the watermark (nearly always, for a small response) no lock is needed. A pipe of
  // one thread never waits: that thread is the one that would make room.
  if (pending_bytes_.load() <= high_watermark_ || one_thread_) return !disconnected_.load();
  std::unique_lock waiting(mutex_);
  room_.wait(waiting, [&] { return disconnected_.load() || pending_bytes_ <= high_watermark_; });
  return !disconnected_.load();
}

std::vector<ResponseEvent>& ResponsePipe::take() {
  taken_.clear();
  auto locked = lock();
  scheduled_ = false;
  events_.swap(taken_);
  return taken_;
}

bool ResponsePipe::reusable(const std::shared_ptr<ResponsePipe>& pipe) noexcept {
  if (!pipe || pipe.use_count() != 1) return false;
  // use_count() is a relaxed load: the fence orders this thread's next accesses after the
  // other owners' last ones (their release of the count).
  std::atomic_thread_fence(std::memory_order_acquire);
  return true;
}

void ResponsePipe::reset() noexcept {
  // No lock: reusable() found the caller the only owner, after the others' last accesses.
  events_.clear();
  taken_.clear();
  pending_bytes_.store(0);
  scheduled_ = false;
  disconnected_.store(false);
  peer_closed_.store(false);
  owner = nullptr;
}

void ResponsePipe::sent(std::uint64_t n) {
  {
    auto locked = lock();
    // Framing bytes are not counted on the way in, so clamp at zero.
    const std::uint64_t pending = pending_bytes_.load(std::memory_order_relaxed);
    const std::uint64_t left = pending - std::min(n, pending);
    pending_bytes_.store(left);
    if (left > high_watermark_ || one_thread_) return;  // nobody can be waiting
  }
  room_.notify_all();
}

void ResponsePipe::disconnect() {
  {
    auto locked = lock();
    disconnected_.store(true);
    events_.clear();
  }
  if (!one_thread_) room_.notify_all();
}

}  // namespace waitron::work
