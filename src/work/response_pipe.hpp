// The hand-off of one request's response from the application thread that produces it to
// the loop thread that sends it.
//
// The application side pushes events (start, bytes, file, finish, abort, fail) and waits
// while too many bytes are queued (outbuf_high_watermark): a slow reader makes the
// application wait instead of the server buffering an unbounded response. The loop side
// takes the events, reports the bytes the socket accepted, and disconnects the pipe when the
// client goes away, which wakes a waiting application thread and makes its later pushes
// no-ops.
//
// Ownership: shared (std::shared_ptr) by the running task and the channel; whichever lets
// go last frees it, unless the channel keeps it for its next request (reusable(), reset()).
// Threads: push(), wait_for_room() on the application thread; take(), sent(), the owner pointer on
// the loop thread; disconnect(), disconnected() and peer_closed() anywhere. A pipe made for
// one thread at a time takes no lock and never waits for room: inline mode, where the
// application runs on the loop thread and the loop thread takes events only once it has
// returned. (A WSGI app may write from a helper thread while the loop thread waits in it:
// the GIL, kept across the write in inline mode, orders those pushes with the rest.)
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/file_region.hpp"
#include "http/output.hpp"
#include "http/response_head.hpp"

namespace waitron::work {

struct ResponseEvent {
  enum class Kind { start, bytes, shared, file, finish, abort, fail };
  Kind kind = Kind::finish;
  http::ResponseHead head;  // start
  // bytes; start: the body's first bytes when they came with the head (one event where a
  // small response would take two); fail: the detail.
  std::string bytes;
  http::SharedBytes shared;  // shared (zero-copy bytes)
  core::FileRegion file;     // file
  int status = 0;            // fail

  static ResponseEvent of(Kind kind) {
    ResponseEvent e;
    e.kind = kind;
    return e;
  }
};

class ResponsePipe;

// Tells the loop thread that a pipe has events. Implemented by WorkQueue with a uv_async_t.
class PipeNotifier {
 public:
  virtual ~PipeNotifier() = default;
  // Any thread.
  virtual void notify(std::shared_ptr<ResponsePipe> pipe) = 0;

 protected:
  PipeNotifier() = default;
  PipeNotifier(const PipeNotifier&) = default;
  PipeNotifier& operator=(const PipeNotifier&) = default;
};

class ResponsePipe : public std::enable_shared_from_this<ResponsePipe> {
 public:
  ResponsePipe(PipeNotifier& notifier, std::uint64_t high_watermark,
               bool one_thread = false) noexcept
      : notifier_(notifier), high_watermark_(high_watermark), one_thread_(one_thread) {}

  // Application thread. Events pushed after disconnect() are dropped.
  void push(ResponseEvent&& event);
  // Application thread. Blocks while more than high_watermark bytes wait to be sent.
  // Returns false once the pipe is disconnected.
  bool wait_for_room();

  // Loop thread: the events pushed so far, in a vector of the pipe's that stays valid (and
  // the loop thread's alone) until the next take(). The two vectors trade places, so a
  // reused pipe allocates none.
  std::vector<ResponseEvent>& take();
  // Loop thread, once done with what take() returned: the events left there (those after a
  // failed head: a file region's descriptor, a shared chunk's owner) are released now,
  // not when the pipe is next used.
  void release_taken() noexcept { taken_.clear(); }
  // Loop thread: the socket accepted n bytes of body data.
  void sent(std::uint64_t n);

  // Any thread: the client is gone or the connection is closing; wakes the application.
  void disconnect();
  [[nodiscard]] bool disconnected() const noexcept { return disconnected_.load(); }
  // Any thread: the client closed its side (EOF); the response may still be sent.
  void mark_peer_closed() noexcept { peer_closed_.store(true); }
  [[nodiscard]] bool peer_closed() const noexcept { return peer_closed_.load(); }
  // Made for one thread: no locking (see the contract above).
  [[nodiscard]] bool one_thread() const noexcept { return one_thread_; }

  // Loop thread only: the channel serving this pipe, or null once it is gone.
  void* owner = nullptr;

  // Loop thread: true when `pipe` may serve another request (see reset()): it is the only
  // owner, so no task runs with it and no notification of it waits to be delivered.
  static bool reusable(const std::shared_ptr<ResponsePipe>& pipe) noexcept;
  // Loop thread, on a reusable() pipe (so without locking): back to the state of a new one,
  // with the vectors' room kept; the events left are released. A channel keeps its last
  // pipe for its next request: one allocation less.
  void reset() noexcept;

 private:
  // mutex_, locked unless the pipe is made for one thread.
  [[nodiscard]] std::unique_lock<std::mutex> lock() {
    return one_thread_ ? std::unique_lock<std::mutex>() : std::unique_lock<std::mutex>(mutex_);
  }

  PipeNotifier& notifier_;
  const std::uint64_t high_watermark_;
  const bool one_thread_;
  std::mutex mutex_;
  std::condition_variable room_;
  std::vector<ResponseEvent> events_;
  std::vector<ResponseEvent> taken_;  // loop thread: what the last take() returned
  // Pushed and not yet accepted by the socket. Written under mutex_; read without it by
  // wait_for_room()'s fast path, where a stale value only delays the wait to the next write.
  std::atomic<std::uint64_t> pending_bytes_{0};
  bool scheduled_ = false;  // a notify() is outstanding
  std::atomic<bool> disconnected_{false};
  std::atomic<bool> peer_closed_{false};
};

}  // namespace waitron::work
