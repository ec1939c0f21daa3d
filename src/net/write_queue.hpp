// The output of one connection waiting to be written to its non-blocking socket.
//
// Byte chunks, owned or shared (zero-copy), are written with one sendmsg() (an iovec per
// chunk, up to 64 at a time, so pipelined responses go out together); a shared chunk's
// owner is released when the chunk has been written or the queue is destroyed; a file region at the
// front goes out with sendfile(), never through user memory. flush() writes until the queue is
// empty or the socket would block, and says how much went out. sendmsg uses MSG_NOSIGNAL; sendfile
// can still raise SIGPIPE, which the server ignores (see server.hpp).
//
// While a file region longer than kFileUnsentLimit is at the front, a TCP socket keeps at
// most that many bytes not yet sent (TCP_NOTSENT_LOWAT): sendfile stops short and the
// socket is writable again once its unsent bytes fall below the limit. Without the limit a
// socket's buffer fills with megabytes of page-cache references that the stack sends
// later, when the peer's acknowledgements arrive, on the peer's side: a local reader (a
// proxy on the same host, wrk in tools/bench) then pays for sending them too. Measured
// with a 100 MiB file through wsgi.file_wrapper on loopback, 8 connections (server CPU
// from /proc, the reader's from its own run): the reader's CPU per 100 MiB 95-117 ms
// without the limit, 51-57 ms with it; the server's 29-32 ms against 38-46 ms (the sending
// moved back to it); 64 connections without it: 312 MiB/s, with it 1,700 MiB/s. Byte
// chunks are copied into the socket when written and gained nothing there (the server's
// own cost rose), so a byte chunk at the front takes the limit off again (the option set
// to 0: the system's default). Spilled output is a file region too and gets the limit when
// large (sent by sendfile like any file; not measured apart). A socket that already has a
// limit of its own when the first large region comes (inherited from a listening socket
// the host set it on) is left as it is, and so is a socket without the option (Unix).
//
// The limit is the socket's state, not the queue's: the caller keeps an UnsentLimit with
// the socket and passes it to every flush, whichever queue it flushes (a channel's queue
// moves to another channel when it rests, see net::Exchange).
//
// One queue per exchange; the loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "core/file_buffer.hpp"
#include "http/output.hpp"

namespace waitron::net {

// What WriteQueue::flush knows of a socket's TCP_NOTSENT_LOWAT. Kept by the socket's owner
// for the socket's life, starting unchecked; the loop thread only.
struct UnsentLimit {
  enum class State : std::uint8_t {
    unchecked,  // not looked at yet (no large file region so far)
    off,        // 0, the system's default
    on,         // WriteQueue::kFileUnsentLimit
    hands_off,  // not TCP, or a limit of the socket's own: never set
  };
  State state = State::unchecked;
};

class WriteQueue {
 public:
  // The most bytes a socket holds unsent while a large file region goes out (see above).
  static constexpr int kFileUnsentLimit = 128 * 1024;

  struct Result {
    std::uint64_t bytes = 0;         // bytes written by this flush
    std::uint64_t memory_bytes = 0;  // of which produced as bytes (also when spilled to disk)
    bool blocked = false;            // the socket would block; wait until it is writable
    int error = 0;                   // an errno that ends the connection, or 0
  };

  // outbuf_overflow: once at least this many bytes of byte chunks wait in memory, further
  // byte chunks are appended to an unnamed temporary file in temp_dir ("" = $TMPDIR or /tmp)
  // and queued as regions of it (sent with sendfile), as waitress spills its output
  // buffers. The file is dropped whenever the queue empties.
  explicit WriteQueue(std::uint64_t overflow = UINT64_MAX, std::string temp_dir = "")
      : overflow_(overflow), temp_dir_(std::move(temp_dir)) {}

  void push(http::OutputChunk chunk);
  // Writes to fd, whose unsent limit is as `limit` says (and updated here).
  Result flush(int fd, UnsentLimit& limit);

  [[nodiscard]] bool empty() const noexcept { return chunks_.empty(); }
  [[nodiscard]] std::uint64_t size() const noexcept { return bytes_; }  // bytes queued
  // A string chunk with memory of its own, at most max_spare bytes of it, written whole and
  // emptied, for the producer to reuse (see http::Connection::recycle()); an empty string
  // if none. Keeps one at a time.
  std::string take_spare() noexcept { return std::exchange(spare_, std::string()); }
  void keep_spares(std::size_t max_spare) noexcept { max_spare_ = max_spare; }

  // Bytes of byte chunks held in memory (not spilled).
  [[nodiscard]] std::uint64_t memory_size() const noexcept { return memory_bytes_; }

 private:
  struct Entry {
    http::OutputChunk chunk;
    bool spilled = false;  // a region of the spill file, produced as bytes
  };

  std::deque<Entry> chunks_;
  std::size_t front_offset_ = 0;  // bytes of the front string already written
  std::uint64_t bytes_ = 0;
  std::uint64_t memory_bytes_ = 0;
  std::uint64_t overflow_;
  std::string temp_dir_;
  std::unique_ptr<core::FileBuffer> spill_;
  std::string spare_;          // see take_spare()
  std::size_t max_spare_ = 0;  // 0: no spare is kept
};

}  // namespace waitron::net
