// A Buffer that keeps its bytes in memory until they reach a threshold, then
// moves them into an anonymous temporary file for good (waitress
// OverflowableBuffer; inbuf_overflow for request bodies, outbuf_overflow for
// responses).
//
// The threshold rule, with "stored" meaning the unread bytes, size():
//
//   in memory  --append making stored >= threshold-->  in a file until close()
//              --expect_total(n) with n >= threshold-->
//
// - An append that leaves stored < threshold stays in memory.
// - The append that makes stored >= threshold writes the unread memory bytes
//   and then the new bytes into a new FileBuffer; the memory is released.
// - Once in a file, the bytes stay there (consuming does not bring them back).
// - An empty append never spills, so a threshold of 0 sends every non-empty
//   append to the file and an empty buffer holds no file.
// - expect_total(n) spills at once when the caller already knows that the
//   buffer will hold n bytes (a Content-Length) and n >= threshold, n > 0;
//   below the threshold it reserves the memory for them.
//
// Creating or writing the file can fail (no space, no such folder): the
// append or expect_total then returns the error and the buffer is unchanged,
// still in memory.
//
// Ownership: the buffer owns its memory and its FileBuffer. memory_view() and
// file_descriptor() lend them as Buffer describes. A moved-from
// OverflowableBuffer may only be destroyed or assigned to.
//
// Threads: not synchronised (see buffer.hpp). One thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "core/buffer.hpp"
#include "core/file_buffer.hpp"
#include "core/memory_buffer.hpp"

namespace waitron::core {

class OverflowableBuffer final : public Buffer {
 public:
  // `temp_dir` is where the temporary file goes; empty means
  // default_temp_dir(), looked up when the file is created.
  explicit OverflowableBuffer(std::uint64_t threshold, std::string temp_dir = "") noexcept;

  OverflowableBuffer(OverflowableBuffer&&) noexcept = default;
  OverflowableBuffer& operator=(OverflowableBuffer&&) noexcept = default;
  OverflowableBuffer(const OverflowableBuffer&) = delete;
  OverflowableBuffer& operator=(const OverflowableBuffer&) = delete;
  ~OverflowableBuffer() override = default;

  [[nodiscard]] std::error_code append(std::string_view bytes) override;
  [[nodiscard]] std::error_code peek(std::uint64_t offset, std::span<char> out,
                                     std::size_t& copied) const override;
  void consume(std::uint64_t n) override;
  [[nodiscard]] std::uint64_t size() const override;
  [[nodiscard]] std::optional<std::string_view> memory_view() const override;
  [[nodiscard]] int file_descriptor() const override;
  [[nodiscard]] std::uint64_t file_offset() const override;
  void close() override;

  // Announces that the buffer will hold n bytes in all (for instance a
  // request's Content-Length, before its body arrives). If n > 0 and
  // n >= threshold(), the bytes move into a file now, so that a large body
  // never grows in memory first. Fails with the file's error (the buffer is
  // then unchanged) or with std::errc::bad_file_descriptor after close().
  [[nodiscard]] std::error_code expect_total(std::uint64_t n);

  // Uninitialised room for at most `max` more bytes, written in place (a read() from a
  // socket straight into a request body): as much as the memory block has or can get, but
  // never so much that the stored bytes could reach the threshold. Empty once the bytes
  // live in a file, after close(), or when `max` is 0. Valid until the next non-const call.
  [[nodiscard]] std::span<char> spare(std::size_t max);
  // The first n bytes of the room spare() gave are content now (n at most its size).
  void commit(std::size_t n) noexcept { memory_.commit(n); }

  // True while the bytes live in a temporary file; false before the spill
  // and after close().
  [[nodiscard]] bool spilled() const noexcept { return file_ != nullptr; }
  [[nodiscard]] std::uint64_t threshold() const noexcept { return threshold_; }

 private:
  // Moves the unread memory bytes, then `extra`, into a new file. On failure
  // nothing changes.
  [[nodiscard]] std::error_code spill(std::string_view extra);

  std::uint64_t threshold_;
  std::string temp_dir_;
  MemoryBuffer memory_;
  std::unique_ptr<FileBuffer> file_;
  bool closed_ = false;
};

}  // namespace waitron::core
