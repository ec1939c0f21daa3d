// A request body that is still arriving, shared by the loop thread, which appends bytes as
// they are parsed, and an application thread, which reads them, waiting for bytes that
// have not arrived yet (the streaming-upload mode: the application starts at the head).
//
// The bytes are kept (memory, then a temporary file past the threshold, as an
// OverflowableBuffer), so reads are by offset and a reader can seek back. finish() marks
// the body complete; fail() ends it with an error (the client left, the body was
// malformed or too large), which every waiting and later read past the received bytes
// returns.
//
// Threads: append(), finish() and fail() on the loop thread; everything else on any thread.
// Every member locks; waits release the lock. As a core::Buffer (for the parser's body
// sink) it supports append, peek and size; consume() is not used on it and does nothing.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "core/overflowable_buffer.hpp"

namespace waitron::core {

class StreamBuffer final : public Buffer {
 public:
  StreamBuffer(std::uint64_t threshold, std::string temp_dir)
      : buffer_(threshold, std::move(temp_dir)) {}

  // Loop thread.
  [[nodiscard]] std::error_code append(std::string_view bytes) override;
  void finish();
  void fail(std::error_code why);

  // Copies up to out.size() bytes starting at `offset`. With `wait`, blocks until at least
  // one byte past `offset` has arrived, or the body is complete (copied 0 at its end) or
  // failed (its error). Without `wait`, copies what has arrived.
  [[nodiscard]] std::error_code read_at(std::uint64_t offset, std::span<char> out,
                                        std::size_t& copied, bool wait);
  // Blocks until the body is complete or failed; returns its length or the error.
  [[nodiscard]] std::error_code wait_complete(std::uint64_t& length);

  [[nodiscard]] bool complete() const;
  [[nodiscard]] std::error_code error() const;

  // core::Buffer.
  [[nodiscard]] std::error_code peek(std::uint64_t offset, std::span<char> out,
                                     std::size_t& copied) const override;
  void consume(std::uint64_t) override {}
  [[nodiscard]] std::uint64_t size() const override;  // bytes received so far
  // The whole body in memory, once it is complete (it no longer changes then).
  [[nodiscard]] std::optional<std::string_view> memory_view() const override;
  [[nodiscard]] int file_descriptor() const override { return -1; }
  [[nodiscard]] std::uint64_t file_offset() const override { return 0; }
  void close() override;

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  OverflowableBuffer buffer_;
  bool complete_ = false;
  std::error_code error_;
};

}  // namespace waitron::core
