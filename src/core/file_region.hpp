// A byte range of an open file, to be sent with sendfile (a response body
// from wsgi.file_wrapper or a native App's file; waitress
// ReadOnlyFileBasedBuffer).
//
// A FileRegion owns its own descriptor (a dup, or one it opened) and the range
// [offset, offset + length) of that file. The writer sends from offset();
// after a partial send, advance(n) moves the range forward, so offset() and
// length() always describe what is left to send. The descriptor's file
// position is never used or moved: reads go through pread, and the sender is
// expected to pass an explicit offset to sendfile.
//
// Ownership: move-only; the descriptor closes with the region. A moved-from
// region is empty (fd() == -1, offset() == length() == 0).
//
// Threads: not synchronised. One thread at a time; the owner hands the region
// over by moving it (for instance from an app thread to the loop thread
// through the work queue).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>

#include "core/unique_fd.hpp"

namespace waitron::core {

// Reads exactly out.size() bytes of fd at `offset` with pread, retrying on EINTR and short
// reads; `copied` counts what was read. Fails with the pread error, or std::errc::io_error
// if the file ends first. Any thread (it changes no file offset).
[[nodiscard]] std::error_code pread_full(int fd, std::uint64_t offset, std::span<char> out,
                                         std::size_t& copied);

class FileRegion {
 public:
  // An empty region with no descriptor.
  FileRegion() noexcept = default;
  // Takes ownership of `fd` and describes [offset, offset + length) of it.
  // Precondition: offset + length fits in off_t.
  FileRegion(UniqueFd fd, std::uint64_t offset, std::uint64_t length) noexcept;

  FileRegion(FileRegion&& other) noexcept;
  FileRegion& operator=(FileRegion&& other) noexcept;
  FileRegion(const FileRegion&) = delete;
  FileRegion& operator=(const FileRegion&) = delete;
  ~FileRegion() = default;

  // Makes a region over a close-on-exec duplicate of `fd` (F_DUPFD_CLOEXEC);
  // the caller keeps `fd`. Fails with the fcntl error, or with
  // std::errc::invalid_argument if offset + length does not fit in off_t.
  // `out` is changed only on success.
  [[nodiscard]] static std::error_code dup_from(int fd, std::uint64_t offset, std::uint64_t length,
                                                FileRegion& out);

  // Opens `path` read-only (close-on-exec) and makes a region of the whole
  // file as it is now. Fails with the open or fstat error, or with
  // std::errc::invalid_argument if the path is not a regular file (a
  // directory, a FIFO, a device). Opening never blocks, not even on a FIFO.
  // `out` is changed only on success.
  [[nodiscard]] static std::error_code open_file(const std::string& path, FileRegion& out);

  // Copies up to out.size() bytes of the region, starting `at` bytes past
  // offset(), and never past the end of the region; sets `copied` to the
  // number copied (0 when at >= length()). Fails with the pread error, or
  // with std::errc::io_error if the file is shorter than the region (it was
  // truncated after the region was made); `copied` then counts the bytes
  // that were read.
  [[nodiscard]] std::error_code read(std::uint64_t at, std::span<char> out,
                                     std::size_t& copied) const;

  // Drops the first n bytes of the region after they were sent:
  // offset += n, length -= n. Precondition: n <= length().
  void advance(std::uint64_t n) noexcept;

  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  [[nodiscard]] std::uint64_t offset() const noexcept { return offset_; }
  [[nodiscard]] std::uint64_t length() const noexcept { return length_; }

 private:
  UniqueFd fd_;
  std::uint64_t offset_ = 0;
  std::uint64_t length_ = 0;
};

}  // namespace waitron::core
