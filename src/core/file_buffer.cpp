// FileBuffer and the anonymous temporary file it lives in: see file_buffer.hpp.
#include "core/file_buffer.hpp"

#include "core/file_region.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <utility>
#include <vector>

namespace waitron::core {
namespace {

std::error_code last_error() {
  return {errno, std::generic_category()};
}

// The largest file offset pwrite and pread accept.
constexpr std::uint64_t kMaxOffset = std::numeric_limits<off_t>::max();

}  // namespace

std::string default_temp_dir() {
  const char* dir = std::getenv("TMPDIR");
  if (dir != nullptr && *dir != '\0') return dir;
  return "/tmp";
}

std::error_code open_unlinked_temp_file(const std::string& dir, UniqueFd& out) {
  std::string name = dir.empty() ? default_temp_dir() : dir;
  name += "/waitron-XXXXXX";
  std::vector<char> path(name.begin(), name.end());
  path.push_back('\0');
  UniqueFd fd(::mkostemp(path.data(), O_CLOEXEC));
  if (!fd) return last_error();
  // The name exists only between these two calls; from here on the file is
  // reachable through the descriptor alone.
  if (::unlink(path.data()) != 0) return last_error();
  out = std::move(fd);
  return {};
}

std::error_code open_anonymous_file(const std::string& dir, UniqueFd& out) {
  const std::string folder = dir.empty() ? default_temp_dir() : dir;
  // O_EXCL forbids a later linkat() from giving the file a name.
  UniqueFd fd(::open(folder.c_str(), O_TMPFILE | O_EXCL | O_RDWR | O_CLOEXEC, 0600));
  if (fd) {
    out = std::move(fd);
    return {};
  }
  // open(2): EISDIR when the kernel does not know O_TMPFILE, EOPNOTSUPP (or
  // EINVAL on some file systems) when the file system does not support it.
  // Other errors (ENOENT, EACCES) would fail the same way with mkostemp, so
  // they are reported as they are.
  if (errno != EISDIR && errno != EOPNOTSUPP && errno != EINVAL) return last_error();
  return open_unlinked_temp_file(folder, out);
}

std::error_code FileBuffer::create(const std::string& dir, std::unique_ptr<FileBuffer>& out) {
  UniqueFd fd;
  if (auto ec = open_anonymous_file(dir, fd)) return ec;
  out.reset(new FileBuffer(std::move(fd)));
  return {};
}

std::error_code FileBuffer::append(std::string_view bytes) {
  if (!fd_) return std::make_error_code(std::errc::bad_file_descriptor);
  if (bytes.size() > kMaxOffset - end_) return std::make_error_code(std::errc::file_too_large);
  std::uint64_t at = end_;
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd_.get(), bytes.data(), bytes.size(), static_cast<off_t>(at));
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::error_code ec = last_error();
      // Drop the bytes of this call that did reach the file, so that the
      // file holds exactly the buffer's content again. end_ never moved, so
      // this is only tidiness: a failure here changes nothing the user sees.
      if (at != end_) (void)::ftruncate(fd_.get(), static_cast<off_t>(end_));
      return ec;
    }
    at += static_cast<std::uint64_t>(n);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  end_ = at;
  return {};
}

std::error_code FileBuffer::peek(std::uint64_t offset, std::span<char> out,
                                 std::size_t& copied) const {
  copied = 0;
  const std::uint64_t unread = size();
  if (offset >= unread || out.empty()) return {};
  const std::uint64_t want64 = unread - offset;
  const std::size_t want = want64 < out.size() ? static_cast<std::size_t>(want64) : out.size();
  return pread_full(fd_.get(), read_ + offset, out.first(want), copied);
}

void FileBuffer::consume(std::uint64_t n) {
  assert(n <= size());
  read_ += n;
  if (read_ == end_ && end_ != 0) {
    // Everything is consumed: reuse the file from its start. A failed
    // ftruncate only leaves stale bytes past end_, which are overwritten or
    // ignored, so its result does not matter.
    read_ = 0;
    end_ = 0;
    (void)::ftruncate(fd_.get(), 0);
  }
}

void FileBuffer::close() {
  fd_.reset();
  read_ = 0;
  end_ = 0;
}

}  // namespace waitron::core
