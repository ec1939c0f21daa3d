// FileBuffer: the anonymous file, its reuse after everything is consumed,
// failures of create() and append(), and descriptor hygiene.
#include "core/file_buffer.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "core_test_support.hpp"

namespace waitron::core {
namespace {

std::unique_ptr<FileBuffer> make_buffer() {
  std::unique_ptr<FileBuffer> buffer;
  REQUIRE_FALSE(FileBuffer::create(test::temp_dir(), buffer));
  REQUIRE(buffer != nullptr);
  return buffer;
}

long long file_size(int fd) {
  struct stat st {};
  REQUIRE(::fstat(fd, &st) == 0);
  return static_cast<long long>(st.st_size);
}

TEST_CASE("file_buffer: the file is anonymous, close-on-exec, and the bytes live in it") {
  const long fds_before = test::count_open_fds();
  auto buffer = make_buffer();
  const int fd = buffer->file_descriptor();
  REQUIRE(fd >= 0);
  CHECK(test::count_open_fds() == fds_before + 1);
  CHECK(test::count_entries(test::temp_dir()) == 0);
  CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  struct stat st {};
  REQUIRE(::fstat(fd, &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK(st.st_nlink == 0);  // No name anywhere in the file system.

  REQUIRE_FALSE(buffer->append("hello, world"));
  CHECK(file_size(fd) == 12);
  CHECK_FALSE(buffer->memory_view().has_value());
  char out[5] = {};
  REQUIRE(::pread(fd, out, 5, 0) == 5);
  CHECK(std::string_view(out, 5) == "hello");
  buffer->consume(7);
  CHECK(buffer->file_offset() == 7);
  CHECK(test::read_all(*buffer) == "world");
  buffer.reset();
  CHECK(test::count_open_fds() == fds_before);
}

TEST_CASE("file_buffer: consuming everything truncates the file and reuses it from 0") {
  auto buffer = make_buffer();
  const std::string first = test::pattern(100'000, 1);
  REQUIRE_FALSE(buffer->append(first));
  buffer->consume(60'000);
  CHECK(buffer->file_offset() == 60'000);
  CHECK(file_size(buffer->file_descriptor()) == 100'000);  // Not yet: 40,000 unread.
  buffer->consume(40'000);
  CHECK(buffer->size() == 0);
  CHECK(buffer->file_offset() == 0);
  CHECK(file_size(buffer->file_descriptor()) == 0);

  const std::string second = test::pattern(5'000, 2);
  REQUIRE_FALSE(buffer->append(second));
  CHECK(file_size(buffer->file_descriptor()) == 5'000);
  CHECK(test::read_all(*buffer, 999) == second);
  buffer->consume(1);
  REQUIRE_FALSE(buffer->append("!"));
  CHECK(test::read_all(*buffer) == second.substr(1) + "!");
}

TEST_CASE("file_buffer: create fails cleanly for a missing folder") {
  const long fds_before = test::count_open_fds();
  std::unique_ptr<FileBuffer> buffer;
  const std::error_code ec = FileBuffer::create(test::temp_dir() + "/missing/folder", buffer);
  CHECK(ec == std::errc::no_such_file_or_directory);
  CHECK(buffer == nullptr);
  CHECK(test::count_open_fds() == fds_before);
}

TEST_CASE("file_buffer: the mkostemp fallback leaves no name behind") {
  const long fds_before = test::count_open_fds();
  UniqueFd fd;
  REQUIRE_FALSE(open_unlinked_temp_file(test::temp_dir(), fd));
  REQUIRE(fd.valid());
  CHECK(test::count_entries(test::temp_dir()) == 0);
  CHECK((::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
  struct stat st {};
  REQUIRE(::fstat(fd.get(), &st) == 0);
  CHECK(st.st_nlink == 0);
  CHECK(::pwrite(fd.get(), "abc", 3, 0) == 3);
  fd.reset();
  CHECK(test::count_open_fds() == fds_before);

  UniqueFd missing;
  CHECK(open_unlinked_temp_file(test::temp_dir() + "/missing", missing) ==
        std::errc::no_such_file_or_directory);
  CHECK_FALSE(missing.valid());
  CHECK(test::count_open_fds() == fds_before);
}

TEST_CASE("file_buffer: an empty directory argument means the default folder") {
  CHECK_FALSE(default_temp_dir().empty());
  std::unique_ptr<FileBuffer> buffer;
  REQUIRE_FALSE(FileBuffer::create("", buffer));
  REQUIRE_FALSE(buffer->append("x"));
  CHECK(test::read_all(*buffer) == "x");
}

TEST_CASE("file_buffer: a failed append leaves the buffer unchanged") {
  // RLIMIT_FSIZE makes pwrite fail with EFBIG past a size, after a short
  // write: the partial bytes must not become part of the buffer. SIGXFSZ
  // would kill the process, so it is ignored for the duration.
  auto buffer = make_buffer();
  REQUIRE_FALSE(buffer->append(test::pattern(3000)));
  buffer->consume(1000);

  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  struct sigaction ignore {
  }, previous{};
  ignore.sa_handler = SIG_IGN;
  REQUIRE(::sigaction(SIGXFSZ, &ignore, &previous) == 0);
  rlimit small = saved;
  small.rlim_cur = 4096;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  // Nothing below may write to a file (doctest's output included) until the
  // limit is restored, so results are only collected here.
  const std::error_code failed = buffer->append(test::pattern(2000, 5));
  struct stat after_failure {};
  const int stat_result = ::fstat(buffer->file_descriptor(), &after_failure);
  const std::error_code fits = buffer->append(test::pattern(1000, 6));
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::sigaction(SIGXFSZ, &previous, nullptr);

  CHECK(failed == std::errc::file_too_large);
  REQUIRE(stat_result == 0);
  CHECK(after_failure.st_size == 3000);  // The partial write was cut off again.
  CHECK_FALSE(fits);
  CHECK(buffer->size() == 3000);
  CHECK(test::read_all(*buffer) == test::pattern(3000).substr(1000) + test::pattern(1000, 6));
}

TEST_CASE("file_buffer: close releases the descriptor, is idempotent, and refuses appends") {
  const long fds_before = test::count_open_fds();
  auto buffer = make_buffer();
  REQUIRE_FALSE(buffer->append("abc"));
  buffer->close();
  CHECK(test::count_open_fds() == fds_before);
  CHECK(buffer->file_descriptor() == -1);
  CHECK(buffer->size() == 0);
  CHECK(buffer->append("x") == std::errc::bad_file_descriptor);
  buffer->close();
  CHECK(test::count_open_fds() == fds_before);
}

}  // namespace
}  // namespace waitron::core
