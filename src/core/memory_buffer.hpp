// A Buffer whose bytes live in one block of memory (waitress BytesIOBasedBuffer).
//
// Layout of the block:
//
//   data_: [ consumed prefix | unread bytes | spare ]
//          0                 read_          end_    capacity_
//
// append() writes at end_; consume() moves read_ forward. When every byte is consumed both
// ends return to 0 and the block is kept for reuse; when the consumed prefix is large and
// at least half of the stored bytes, consume() moves the unread bytes to the front, so the
// block never holds much more than twice the unread bytes (plus one compaction step) and
// compaction costs amortised O(1) per byte. Growing the block (to at least twice its size)
// copies only the unread bytes.
//
// The spare room is not initialised: spare() lends it to a writer (a read() from a socket
// straight into a request body) and commit() makes the bytes written there content, so
// bytes read from the network are not copied once more to get here.
//
// Ownership: the buffer owns its block. memory_view() and spare() lend parts of it until
// the next non-const call. Out of memory is not an I/O error: append() and spare() let
// std::bad_alloc propagate.
//
// Threads: not synchronised (see buffer.hpp). One thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

#include "core/buffer.hpp"

namespace waitron::core {

class MemoryBuffer final : public Buffer {
 public:
  // The consumed prefix is dropped once it is at least this long and at
  // least half of the stored bytes.
  static constexpr std::size_t kCompactThreshold = 64 * 1024;

  MemoryBuffer() noexcept = default;
  // Starts with a copy of `bytes` as the unread content.
  explicit MemoryBuffer(std::string_view bytes);

  // A moved-from MemoryBuffer is empty and open.
  MemoryBuffer(MemoryBuffer&& other) noexcept;
  MemoryBuffer& operator=(MemoryBuffer&& other) noexcept;
  MemoryBuffer(const MemoryBuffer&) = delete;
  MemoryBuffer& operator=(const MemoryBuffer&) = delete;
  ~MemoryBuffer() override = default;

  [[nodiscard]] std::error_code append(std::string_view bytes) override;
  [[nodiscard]] std::error_code peek(std::uint64_t offset, std::span<char> out,
                                     std::size_t& copied) const override;
  void consume(std::uint64_t n) override;
  [[nodiscard]] std::uint64_t size() const override;
  [[nodiscard]] std::optional<std::string_view> memory_view() const override;
  [[nodiscard]] int file_descriptor() const override { return -1; }
  [[nodiscard]] std::uint64_t file_offset() const override { return 0; }
  void close() override;

  // Makes room for n more bytes at once (a body whose length is known), so appending them
  // does not reallocate and copy as the block grows.
  void reserve_more(std::size_t n);

  // At least `want` bytes of uninitialised room after the unread bytes (the block grows if
  // need be), valid until the next non-const call; more may be given. None after close().
  [[nodiscard]] std::span<char> spare(std::size_t want);
  // The first n bytes of the room spare() gave are content now. Precondition: n is at most
  // the size of that room, and no other non-const call came between.
  void commit(std::size_t n) noexcept;

  // True after close().
  [[nodiscard]] bool closed() const noexcept { return closed_; }

 private:
  // Grows the block to hold at least `needed` bytes from read_ on, moving the unread bytes
  // to its front.
  void grow(std::size_t needed);

  std::unique_ptr<char[]> data_;
  std::size_t capacity_ = 0;
  std::size_t read_ = 0;
  std::size_t end_ = 0;
  bool closed_ = false;
};

}  // namespace waitron::core
