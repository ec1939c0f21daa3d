// A Buffer whose bytes live in one std::string (waitress BytesIOBasedBuffer).
//
// Layout of the storage:
//
//   data_: [ consumed prefix | unread bytes ]
//          0                 read_          data_.size()
//
// append() writes after data_.size(); consume() moves read_ forward. When
// every byte is consumed both ends return to 0 and the capacity is kept for
// reuse; when the consumed prefix is large and at least half of the string,
// consume() erases it, so the string never holds much more than twice the
// unread bytes (plus one compaction step) and compaction costs amortised O(1)
// per byte.
//
// Ownership: the buffer owns its string. memory_view() lends the unread bytes
// until the next non-const call. Out of memory is not an I/O error: append()
// lets std::bad_alloc propagate like any std::string would.
//
// Threads: not synchronised (see buffer.hpp). One thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "core/buffer.hpp"

namespace waitron::core {

class MemoryBuffer final : public Buffer {
 public:
  // The consumed prefix is erased once it is at least this long and at
  // least half of the stored string.
  static constexpr std::size_t kCompactThreshold = 64 * 1024;

  MemoryBuffer() noexcept = default;
  // Starts with `bytes` as the unread content, adopting the string.
  explicit MemoryBuffer(std::string bytes) noexcept;

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
  // does not reallocate and copy as the string grows.
  void reserve_more(std::size_t n) { data_.reserve(data_.size() + n); }

  // True after close().
  [[nodiscard]] bool closed() const noexcept { return closed_; }

 private:
  std::string data_;
  std::size_t read_ = 0;
  bool closed_ = false;
};

}  // namespace waitron::core
