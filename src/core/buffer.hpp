// The byte buffer contract shared by request bodies and queued output
// (waitress buffers.py, seed 000).
//
// A Buffer is a FIFO of bytes: append() adds at the end, peek() copies from
// the front without removing, consume() removes from the front. size() is the
// number of unread bytes. Implementations keep their bytes in memory, in an
// anonymous temporary file, or start in memory and move to a file past a
// threshold; users never need to know which.
//
// Invariants every implementation keeps:
// - size() == bytes appended - bytes consumed, until close().
// - peek() never changes size(); consume(n) requires n <= size().
// - After close(), size() == 0, append() fails with std::errc::bad_file_descriptor,
//   and no memory or temporary file is held. close() is idempotent and the
//   destructor calls it. A temporary file never has a name in the file system
//   once its buffer is constructed (O_TMPFILE, or unlinked right after mkstemp),
//   so no file outlives its buffer, not even when the process crashes.
//
// Threads: a Buffer is not synchronised. One thread at a time may use it; the
// owner hands it over (with a happens-before edge, such as a queue) to another.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

namespace waitron::core {

class Buffer {
 public:
  virtual ~Buffer() = default;

  // Adds bytes at the end. Fails only on an I/O error of a temporary file
  // (the buffer is then unchanged) or after close().
  [[nodiscard]] virtual std::error_code append(std::string_view bytes) = 0;

  // Copies up to out.size() unread bytes, starting `offset` bytes past the
  // front, into out, and sets `copied` to the number copied (0 at the end).
  [[nodiscard]] virtual std::error_code peek(std::uint64_t offset, std::span<char> out,
                                             std::size_t& copied) const = 0;

  // Drops the first n unread bytes. Precondition: n <= size().
  virtual void consume(std::uint64_t n) = 0;

  // The number of unread bytes.
  [[nodiscard]] virtual std::uint64_t size() const = 0;

  // The unread bytes as one contiguous view while they are in memory, or
  // nullopt once they live in a file. The view is valid until the next
  // non-const call.
  [[nodiscard]] virtual std::optional<std::string_view> memory_view() const = 0;

  // The temporary file and the file offset of the first unread byte while
  // the bytes live in a file (for sendfile and pread), or -1 in memory. The
  // descriptor stays owned by the buffer.
  [[nodiscard]] virtual int file_descriptor() const = 0;
  [[nodiscard]] virtual std::uint64_t file_offset() const = 0;

  // Releases the memory or the temporary file. Idempotent.
  virtual void close() = 0;

 protected:
  Buffer() = default;
  Buffer(const Buffer&) = default;
  Buffer& operator=(const Buffer&) = default;
  Buffer(Buffer&&) = default;
  Buffer& operator=(Buffer&&) = default;
};

}  // namespace waitron::core
