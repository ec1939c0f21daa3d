// MemoryBuffer: see memory_buffer.hpp for the layout and the compaction rule.
#include "core/memory_buffer.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

namespace waitron::core {

MemoryBuffer::MemoryBuffer(std::string_view bytes) {
  if (!bytes.empty()) {
    grow(bytes.size());
    std::memcpy(data_.get(), bytes.data(), bytes.size());
    end_ = bytes.size();
  }
}

MemoryBuffer::MemoryBuffer(MemoryBuffer&& other) noexcept
    : Buffer(),
      data_(std::move(other.data_)),
      capacity_(std::exchange(other.capacity_, 0)),
      read_(std::exchange(other.read_, 0)),
      end_(std::exchange(other.end_, 0)),
      closed_(std::exchange(other.closed_, false)) {}

MemoryBuffer& MemoryBuffer::operator=(MemoryBuffer&& other) noexcept {
  if (this != &other) {
    data_ = std::move(other.data_);
    capacity_ = std::exchange(other.capacity_, 0);
    read_ = std::exchange(other.read_, 0);
    end_ = std::exchange(other.end_, 0);
    closed_ = std::exchange(other.closed_, false);
  }
  return *this;
}

void MemoryBuffer::grow(std::size_t needed) {
  const std::size_t unread = end_ - read_;
  // At least double, as std::string and std::vector do, so appends cost amortised O(1).
  std::size_t capacity = std::max(needed, 2 * capacity_);
  auto block = std::make_unique_for_overwrite<char[]>(capacity);
  if (unread > 0) std::memcpy(block.get(), data_.get() + read_, unread);
  data_ = std::move(block);
  capacity_ = capacity;
  read_ = 0;
  end_ = unread;
}

std::error_code MemoryBuffer::append(std::string_view bytes) {
  if (closed_) return std::make_error_code(std::errc::bad_file_descriptor);
  if (bytes.empty()) return {};
  std::span<char> room = spare(bytes.size());
  std::memcpy(room.data(), bytes.data(), bytes.size());
  end_ += bytes.size();
  return {};
}

void MemoryBuffer::reserve_more(std::size_t n) {
  if (closed_ || n <= capacity_ - end_) return;
  const std::size_t unread = end_ - read_;
  // Exactly the room asked for: the caller knows how many bytes come.
  auto block = std::make_unique_for_overwrite<char[]>(unread + n);
  if (unread > 0) std::memcpy(block.get(), data_.get() + read_, unread);
  data_ = std::move(block);
  capacity_ = unread + n;
  read_ = 0;
  end_ = unread;
}

std::span<char> MemoryBuffer::spare(std::size_t want) {
  if (closed_) return {};
  if (want > capacity_ - end_) {
    const std::size_t unread = end_ - read_;
    if (want <= capacity_ - unread && read_ >= unread) {
      // Enough room once the consumed prefix is gone, which frees at least as many bytes
      // as it moves (so moving costs amortised O(1) per byte) and costs no new block.
      std::memmove(data_.get(), data_.get() + read_, end_ - read_);
      end_ -= read_;
      read_ = 0;
    } else {
      grow(unread + want);
    }
  }
  return {data_.get() + end_, capacity_ - end_};
}

void MemoryBuffer::commit(std::size_t n) noexcept {
  assert(n <= capacity_ - end_);
  end_ += n;
}

std::error_code MemoryBuffer::peek(std::uint64_t offset, std::span<char> out,
                                   std::size_t& copied) const {
  copied = 0;
  const std::uint64_t unread = size();
  if (offset >= unread || out.empty()) return {};
  const auto start = read_ + static_cast<std::size_t>(offset);
  copied = std::min(out.size(), end_ - start);
  std::memcpy(out.data(), data_.get() + start, copied);
  return {};
}

void MemoryBuffer::consume(std::uint64_t n) {
  assert(n <= size());
  read_ += static_cast<std::size_t>(n);
  if (read_ == end_) {
    // Everything is consumed: start over at 0 and keep the block.
    read_ = 0;
    end_ = 0;
  } else if (read_ >= kCompactThreshold && read_ >= end_ / 2) {
    std::memmove(data_.get(), data_.get() + read_, end_ - read_);
    end_ -= read_;
    read_ = 0;
  }
}

std::uint64_t MemoryBuffer::size() const {
  return end_ - read_;
}

std::optional<std::string_view> MemoryBuffer::memory_view() const {
  if (end_ == read_) return std::string_view("", 0);  // never a null pointer, as before
  return std::string_view(data_.get() + read_, end_ - read_);
}

void MemoryBuffer::close() {
  data_.reset();  // Releases the block.
  capacity_ = 0;
  read_ = 0;
  end_ = 0;
  closed_ = true;
}

}  // namespace waitron::core
