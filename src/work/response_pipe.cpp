#include "work/response_pipe.hpp"

#include <utility>

namespace waitron::work {

void ResponsePipe::push(ResponseEvent event) {
  bool first;
  {
    std::lock_guard lock(mutex_);
    if (disconnected_.load()) return;
    if (event.kind == ResponseEvent::Kind::bytes) pending_bytes_ += event.bytes.size();
    if (event.kind == ResponseEvent::Kind::shared) pending_bytes_ += event.shared.bytes.size();
    // A response is usually a start, a body and a finish: room for those at once, not three
    // reallocations.
    if (events_.capacity() == 0) events_.reserve(4);
    events_.push_back(std::move(event));
    first = !scheduled_;
    scheduled_ = true;
  }
  // One notification per batch: the loop takes every event queued until then.
  if (first) notifier_.notify(shared_from_this());
}

bool ResponsePipe::wait_for_room() {
  std::unique_lock lock(mutex_);
  room_.wait(lock, [&] { return disconnected_.load() || pending_bytes_ <= high_watermark_; });
  return !disconnected_.load();
}

std::vector<ResponseEvent> ResponsePipe::take() {
  std::lock_guard lock(mutex_);
  scheduled_ = false;
  return std::exchange(events_, {});
}

void ResponsePipe::sent(std::uint64_t n) {
  {
    std::lock_guard lock(mutex_);
    // Framing bytes are not counted on the way in, so clamp at zero.
    pending_bytes_ -= std::min(n, pending_bytes_);
    if (pending_bytes_ > high_watermark_) return;
  }
  room_.notify_all();
}

void ResponsePipe::disconnect() {
  {
    std::lock_guard lock(mutex_);
    disconnected_.store(true);
    events_.clear();
  }
  room_.notify_all();
}

}  // namespace waitron::work
