// FileRegion: see file_region.hpp.
#include "core/file_region.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <limits>
#include <utility>

namespace waitron::core {
namespace {

std::error_code last_error() {
  return {errno, std::generic_category()};
}

constexpr std::uint64_t kMaxOffset = std::numeric_limits<off_t>::max();

}  // namespace

FileRegion::FileRegion(UniqueFd fd, std::uint64_t offset, std::uint64_t length) noexcept
    : fd_(std::move(fd)), offset_(offset), length_(length) {}

FileRegion::FileRegion(FileRegion&& other) noexcept
    : fd_(std::move(other.fd_)),
      offset_(std::exchange(other.offset_, 0)),
      length_(std::exchange(other.length_, 0)) {}

FileRegion& FileRegion::operator=(FileRegion&& other) noexcept {
  if (this != &other) {
    fd_ = std::move(other.fd_);
    offset_ = std::exchange(other.offset_, 0);
    length_ = std::exchange(other.length_, 0);
  }
  return *this;
}

std::error_code FileRegion::dup_from(int fd, std::uint64_t offset, std::uint64_t length,
                                     FileRegion& out) {
  if (offset > kMaxOffset || length > kMaxOffset - offset) {
    return std::make_error_code(std::errc::invalid_argument);
  }
  UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!copy) return last_error();
  out = FileRegion(std::move(copy), offset, length);
  return {};
}

std::error_code FileRegion::open_file(const std::string& path, FileRegion& out) {
  // O_NONBLOCK keeps open() from waiting for a writer when the path is a
  // FIFO; it is cleared below once the file is known to be regular.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) return last_error();
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return last_error();
  if (!S_ISREG(st.st_mode)) return std::make_error_code(std::errc::invalid_argument);
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) return last_error();
  out = FileRegion(std::move(fd), 0, static_cast<std::uint64_t>(st.st_size));
  return {};
}

std::error_code pread_full(int fd, std::uint64_t offset, std::span<char> out, std::size_t& copied) {
  copied = 0;
  while (copied < out.size()) {
    const ssize_t n =
        ::pread(fd, out.data() + copied, out.size() - copied, static_cast<off_t>(offset + copied));
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::error_code(errno, std::generic_category());
    }
    if (n == 0) return std::make_error_code(std::errc::io_error);
    copied += static_cast<std::size_t>(n);
  }
  return {};
}

std::error_code FileRegion::read(std::uint64_t at, std::span<char> out, std::size_t& copied) const {
  copied = 0;
  if (at >= length_ || out.empty()) return {};
  const std::uint64_t left = length_ - at;
  const std::size_t want = left < out.size() ? static_cast<std::size_t>(left) : out.size();
  return pread_full(fd_.get(), offset_ + at, out.first(want), copied);
}

void FileRegion::advance(std::uint64_t n) noexcept {
  assert(n <= length_);
  offset_ += n;
  length_ -= n;
}

}  // namespace waitron::core
