// MemoryBuffer: see memory_buffer.hpp for the layout and the compaction rule.
#include "core/memory_buffer.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

namespace waitron::core {

MemoryBuffer::MemoryBuffer(std::string bytes) noexcept : data_(std::move(bytes)) {}

MemoryBuffer::MemoryBuffer(MemoryBuffer&& other) noexcept
    : Buffer(),
      data_(std::exchange(other.data_, std::string())),
      read_(std::exchange(other.read_, 0)),
      closed_(std::exchange(other.closed_, false)) {}

MemoryBuffer& MemoryBuffer::operator=(MemoryBuffer&& other) noexcept {
  if (this != &other) {
    data_ = std::exchange(other.data_, std::string());
    read_ = std::exchange(other.read_, 0);
    closed_ = std::exchange(other.closed_, false);
  }
  return *this;
}

std::error_code MemoryBuffer::append(std::string_view bytes) {
  if (closed_) return std::make_error_code(std::errc::bad_file_descriptor);
  data_.append(bytes);
  return {};
}

std::error_code MemoryBuffer::peek(std::uint64_t offset, std::span<char> out,
                                   std::size_t& copied) const {
  copied = 0;
  const std::uint64_t unread = size();
  if (offset >= unread || out.empty()) return {};
  const auto start = read_ + static_cast<std::size_t>(offset);
  copied = std::min(out.size(), data_.size() - start);
  std::memcpy(out.data(), data_.data() + start, copied);
  return {};
}

void MemoryBuffer::consume(std::uint64_t n) {
  assert(n <= size());
  read_ += static_cast<std::size_t>(n);
  if (read_ == data_.size()) {
    // Everything is consumed: start over at 0 and keep the capacity.
    data_.clear();
    read_ = 0;
  } else if (read_ >= kCompactThreshold && read_ >= data_.size() / 2) {
    data_.erase(0, read_);
    read_ = 0;
  }
}

std::uint64_t MemoryBuffer::size() const {
  return data_.size() - read_;
}

std::optional<std::string_view> MemoryBuffer::memory_view() const {
  return std::string_view(data_).substr(read_);
}

void MemoryBuffer::close() {
  std::string().swap(data_);  // Releases the capacity too, unlike clear().
  read_ = 0;
  closed_ = true;
}

}  // namespace waitron::core
