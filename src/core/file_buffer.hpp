// A Buffer whose bytes live in an anonymous temporary file (waitress
// TempfileBasedBuffer).
//
// Layout of the file:
//
//   file: [ consumed prefix | unread bytes ]
//         0                 read_          end_
//
// append() writes at end_ with pwrite; peek() reads with pread; consume()
// moves read_ forward. When every byte is consumed both offsets return to 0
// and the file is truncated to 0, so its space is reused. The file is opened
// with O_TMPFILE | O_EXCL, or, where the file system lacks O_TMPFILE, made by
// mkostemp and unlinked at once: it never has a name after create() returns,
// so the kernel frees it when the descriptor closes, even if the process
// crashes.
//
// Ownership: the buffer owns the descriptor. file_descriptor() lends it (for
// sendfile or pread) until close() or destruction; the borrower must neither
// close it nor rely on the file position (the buffer only uses pread/pwrite).
// A FileBuffer is made by create() and is neither copyable nor movable; hold
// it by std::unique_ptr.
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
#include "core/unique_fd.hpp"

namespace waitron::core {

// The folder for temporary files when none is given: $TMPDIR when it is set
// and not empty, else "/tmp".
[[nodiscard]] std::string default_temp_dir();

// Opens a new anonymous read-write file in `dir` (default_temp_dir() when dir
// is empty): O_TMPFILE first, then mkostemp plus unlink when the kernel or
// the file system does not support O_TMPFILE. The descriptor is close-on-exec.
[[nodiscard]] std::error_code open_anonymous_file(const std::string& dir, UniqueFd& out);

// The mkostemp-plus-unlink path of open_anonymous_file() alone, exposed so
// that tests can exercise it on file systems that do support O_TMPFILE.
[[nodiscard]] std::error_code open_unlinked_temp_file(const std::string& dir, UniqueFd& out);

class FileBuffer final : public Buffer {
 public:
  // Makes a buffer over a new anonymous file in `dir` (default_temp_dir()
  // when empty). On failure `out` is left unchanged and no file is left
  // behind.
  [[nodiscard]] static std::error_code create(const std::string& dir,
                                              std::unique_ptr<FileBuffer>& out);

  FileBuffer(const FileBuffer&) = delete;
  FileBuffer& operator=(const FileBuffer&) = delete;
  FileBuffer(FileBuffer&&) = delete;
  FileBuffer& operator=(FileBuffer&&) = delete;
  ~FileBuffer() override = default;

  // Writes all of `bytes` at the end. On an I/O error (ENOSPC, EFBIG, ...) the
  // buffer's content and size are unchanged.
  [[nodiscard]] std::error_code append(std::string_view bytes) override;
  // Fails with std::errc::io_error if the file ended before the bytes the
  // buffer knows it holds (which only an outside writer could cause).
  [[nodiscard]] std::error_code peek(std::uint64_t offset, std::span<char> out,
                                     std::size_t& copied) const override;
  void consume(std::uint64_t n) override;
  [[nodiscard]] std::uint64_t size() const override { return end_ - read_; }
  [[nodiscard]] std::optional<std::string_view> memory_view() const override {
    return std::nullopt;
  }
  // The descriptor, or -1 after close().
  [[nodiscard]] int file_descriptor() const override { return fd_.get(); }
  // The file offset of the first unread byte.
  [[nodiscard]] std::uint64_t file_offset() const override { return read_; }
  void close() override;

 private:
  explicit FileBuffer(UniqueFd fd) noexcept : fd_(std::move(fd)) {}

  UniqueFd fd_;
  std::uint64_t read_ = 0;
  std::uint64_t end_ = 0;
};

}  // namespace waitron::core
