// OverflowableBuffer: see overflowable_buffer.hpp for the threshold rule.
#include "core/overflowable_buffer.hpp"

#include <algorithm>
#include <utility>

namespace waitron::core {

namespace {

// The most expect_total() reserves ahead of the bytes.
constexpr std::uint64_t kMaxReserve = 64 * 1024;

}  // namespace

OverflowableBuffer::OverflowableBuffer(std::uint64_t threshold, std::string temp_dir) noexcept
    : threshold_(threshold), temp_dir_(std::move(temp_dir)) {}

std::error_code OverflowableBuffer::append(std::string_view bytes) {
  if (closed_) return std::make_error_code(std::errc::bad_file_descriptor);
  if (bytes.empty()) return {};
  if (file_) return file_->append(bytes);
  // Compared without adding, so that no sum can wrap around.
  if (bytes.size() >= threshold_ || memory_.size() >= threshold_ - bytes.size()) {
    return spill(bytes);
  }
  return memory_.append(bytes);
}

std::error_code OverflowableBuffer::expect_total(std::uint64_t n) {
  if (closed_) return std::make_error_code(std::errc::bad_file_descriptor);
  if (file_ || n == 0) return {};
  if (n < threshold_) {
    // It will stay in memory: room for it now, up to kMaxReserve (a client announcing a
    // large body and sending nothing holds no more than that).
    std::uint64_t room = std::min<std::uint64_t>(n, kMaxReserve);
    if (room > memory_.size())
      memory_.reserve_more(static_cast<std::size_t>(room - memory_.size()));
    return {};
  }
  return spill({});
}

std::span<char> OverflowableBuffer::spare(std::size_t max) {
  if (closed_ || file_ || max == 0 || memory_.size() + 1 >= threshold_) return {};
  // The stored bytes stay below the threshold, as an append of the same bytes would.
  std::uint64_t below = threshold_ - 1 - memory_.size();
  std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(max, below));
  // Exactly the room asked for, not the doubling of spare(): the caller (the parser) grows
  // its requests with what arrived already, and doubling both would hold four times that.
  memory_.reserve_more(want);
  return memory_.spare(want).first(want);
}

std::error_code OverflowableBuffer::spill(std::string_view extra) {
  std::unique_ptr<FileBuffer> file;
  if (auto ec = FileBuffer::create(temp_dir_, file)) return ec;
  // memory_view() always has a value for a MemoryBuffer.
  if (auto ec = file->append(*memory_.memory_view())) return ec;
  if (auto ec = file->append(extra)) return ec;
  file_ = std::move(file);
  memory_.close();
  return {};
}

std::error_code OverflowableBuffer::peek(std::uint64_t offset, std::span<char> out,
                                         std::size_t& copied) const {
  if (file_) return file_->peek(offset, out, copied);
  return memory_.peek(offset, out, copied);
}

void OverflowableBuffer::consume(std::uint64_t n) {
  if (file_) {
    file_->consume(n);
  } else {
    memory_.consume(n);
  }
}

std::uint64_t OverflowableBuffer::size() const {
  return file_ ? file_->size() : memory_.size();
}

std::optional<std::string_view> OverflowableBuffer::memory_view() const {
  if (file_) return std::nullopt;
  return memory_.memory_view();
}

int OverflowableBuffer::file_descriptor() const {
  return file_ ? file_->file_descriptor() : -1;
}

std::uint64_t OverflowableBuffer::file_offset() const {
  return file_ ? file_->file_offset() : 0;
}

void OverflowableBuffer::close() {
  file_.reset();
  memory_.close();
  closed_ = true;
}

}  // namespace waitron::core
