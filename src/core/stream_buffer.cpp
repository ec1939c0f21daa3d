#include "core/stream_buffer.hpp"

namespace waitron::core {

std::error_code StreamBuffer::append(std::string_view bytes) {
  std::error_code ec;
  {
    std::lock_guard lock(mutex_);
    if (complete_ || error_) return std::make_error_code(std::errc::bad_file_descriptor);
    ec = buffer_.append(bytes);
  }
  changed_.notify_all();
  return ec;
}

void StreamBuffer::finish() {
  {
    std::lock_guard lock(mutex_);
    if (!error_) complete_ = true;
  }
  changed_.notify_all();
}

void StreamBuffer::fail(std::error_code why) {
  {
    std::lock_guard lock(mutex_);
    if (complete_ || error_) return;
    error_ = why ? why : std::make_error_code(std::errc::connection_aborted);
  }
  changed_.notify_all();
}

std::error_code StreamBuffer::read_at(std::uint64_t offset, std::span<char> out,
                                      std::size_t& copied, bool wait) {
  copied = 0;
  std::unique_lock lock(mutex_);
  if (wait) {
    changed_.wait(lock, [&] { return buffer_.size() > offset || complete_ || error_; });
  }
  if (buffer_.size() > offset) return buffer_.peek(offset, out, copied);
  if (error_ && !complete_) return error_;
  return {};
}

std::error_code StreamBuffer::wait_complete(std::uint64_t& length) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return complete_ || error_; });
  length = buffer_.size();
  return complete_ ? std::error_code() : error_;
}

bool StreamBuffer::complete() const {
  std::lock_guard lock(mutex_);
  return complete_;
}

std::error_code StreamBuffer::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

std::error_code StreamBuffer::peek(std::uint64_t offset, std::span<char> out,
                                   std::size_t& copied) const {
  std::lock_guard lock(mutex_);
  return buffer_.peek(offset, out, copied);
}

std::uint64_t StreamBuffer::size() const {
  std::lock_guard lock(mutex_);
  return buffer_.size();
}

std::optional<std::string_view> StreamBuffer::memory_view() const {
  std::lock_guard lock(mutex_);
  if (!complete_) return std::nullopt;
  return buffer_.memory_view();
}

void StreamBuffer::close() {
  {
    std::lock_guard lock(mutex_);
    if (!complete_ && !error_) error_ = std::make_error_code(std::errc::bad_file_descriptor);
    buffer_.close();
  }
  changed_.notify_all();
}

}  // namespace waitron::core
