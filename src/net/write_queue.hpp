// The output of one connection waiting to be written to its non-blocking socket.
//
// Byte chunks, owned or shared (zero-copy), are written with one sendmsg() (an iovec per
// chunk, up to 64 at a time, so pipelined responses go out together); a shared chunk's
// owner is released when the chunk has been written or the queue is destroyed; a file region at the front goes out with
// sendfile(), never through user memory. flush() writes until the queue is empty or the
// socket would block, and says how much went out. sendmsg uses MSG_NOSIGNAL; sendfile can
// still raise SIGPIPE, which the server ignores (see server.hpp).
//
// One queue per channel; the loop thread only.
#pragma once

#include <cstdint>
#include <deque>

#include "http/output.hpp"

namespace waitron::net {

class WriteQueue {
 public:
  struct Result {
    std::uint64_t bytes = 0;         // bytes written by this flush
    std::uint64_t memory_bytes = 0;  // of which from byte chunks (not file regions)
    bool blocked = false;            // the socket would block; wait until it is writable
    int error = 0;                   // an errno that ends the connection, or 0
  };

  void push(http::OutputChunk chunk);
  Result flush(int fd);

  [[nodiscard]] bool empty() const noexcept { return chunks_.empty(); }
  [[nodiscard]] std::uint64_t size() const noexcept { return bytes_; }  // bytes queued

 private:
  std::deque<http::OutputChunk> chunks_;
  std::size_t front_offset_ = 0;  // bytes of the front string already written
  std::uint64_t bytes_ = 0;
};

}  // namespace waitron::net
