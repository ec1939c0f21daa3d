// FileRegion: reading within the region, advancing after partial sends,
// dup_from, open_file and its refusal of anything but a regular file.
#include "core/file_region.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "core/file_buffer.hpp"
#include "core_test_support.hpp"

namespace waitron::core {
namespace {

// An anonymous file holding `content`.
UniqueFd file_with(const std::string& content) {
  UniqueFd fd;
  REQUIRE_FALSE(open_anonymous_file(test::temp_dir(), fd));
  REQUIRE(::pwrite(fd.get(), content.data(), content.size(), 0) ==
          static_cast<ssize_t>(content.size()));
  return fd;
}

std::string read_region(const FileRegion& region, std::size_t piece = 7) {
  std::string out;
  std::vector<char> chunk(piece);
  for (;;) {
    std::size_t copied = 0;
    REQUIRE_FALSE(region.read(out.size(), chunk, copied));
    if (copied == 0) return out;
    out.append(chunk.data(), copied);
  }
}

TEST_CASE("file_region: read stays inside the region") {
  FileRegion region(file_with("0123456789abcdef"), 4, 6);
  CHECK(region.offset() == 4);
  CHECK(region.length() == 6);
  char out[16] = {};
  std::size_t copied = 0;
  REQUIRE_FALSE(region.read(0, out, copied));
  CHECK(std::string_view(out, copied) == "456789");
  REQUIRE_FALSE(region.read(4, out, copied));
  CHECK(std::string_view(out, copied) == "89");
  REQUIRE_FALSE(region.read(6, out, copied));
  CHECK(copied == 0);
  REQUIRE_FALSE(region.read(UINT64_MAX, out, copied));
  CHECK(copied == 0);
  REQUIRE_FALSE(region.read(1, std::span<char>(out, 3), copied));
  CHECK(std::string_view(out, copied) == "567");
  CHECK(read_region(region, 1) == "456789");
}

TEST_CASE("file_region: advance moves the region forward after a partial send") {
  FileRegion region(file_with("0123456789"), 2, 8);
  region.advance(3);
  CHECK(region.offset() == 5);
  CHECK(region.length() == 5);
  CHECK(read_region(region) == "56789");
  region.advance(0);
  CHECK(region.length() == 5);
  region.advance(5);
  CHECK(region.offset() == 10);
  CHECK(region.length() == 0);
  CHECK(read_region(region).empty());
}

TEST_CASE("file_region: a file shorter than the region is an I/O error") {
  FileRegion region(file_with("short"), 0, 100);
  char out[64];
  std::size_t copied = 0;
  CHECK(region.read(0, out, copied) == std::errc::io_error);
  CHECK(copied == 5);
}

TEST_CASE("file_region: dup_from keeps the caller's descriptor and owns a copy") {
  const long fds_before = test::count_open_fds();
  UniqueFd original = file_with("hello world");
  FileRegion region;
  CHECK(region.fd() == -1);
  REQUIRE_FALSE(FileRegion::dup_from(original.get(), 6, 5, region));
  CHECK(region.fd() >= 0);
  CHECK(region.fd() != original.get());
  CHECK((::fcntl(region.fd(), F_GETFD) & FD_CLOEXEC) != 0);
  CHECK(test::count_open_fds() == fds_before + 2);
  original.reset();  // The region's copy still reaches the file.
  CHECK(read_region(region) == "world");

  FileRegion moved(std::move(region));
  CHECK(region.fd() == -1);  // NOLINT(bugprone-use-after-move): documented state.
  CHECK(region.length() == 0);
  CHECK(moved.length() == 5);
  moved = FileRegion();
  CHECK(test::count_open_fds() == fds_before);
}

TEST_CASE("file_region: dup_from reports a bad descriptor and an impossible range") {
  FileRegion region;
  CHECK(FileRegion::dup_from(-1, 0, 1, region) == std::errc::bad_file_descriptor);
  UniqueFd fd = file_with("x");
  CHECK(FileRegion::dup_from(fd.get(), UINT64_MAX, 1, region) == std::errc::invalid_argument);
  CHECK(region.fd() == -1);
}

TEST_CASE("file_region: open_file covers a whole regular file") {
  const std::string path = test::temp_dir() + "/region.txt";
  {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    REQUIRE(fd.valid());
    REQUIRE(::write(fd.get(), "the whole file", 14) == 14);
  }
  FileRegion region;
  const std::error_code ec = FileRegion::open_file(path, region);
  ::unlink(path.c_str());
  REQUIRE_FALSE(ec);
  CHECK(region.offset() == 0);
  CHECK(region.length() == 14);
  CHECK((::fcntl(region.fd(), F_GETFD) & FD_CLOEXEC) != 0);
  CHECK((::fcntl(region.fd(), F_GETFL) & O_NONBLOCK) == 0);
  CHECK(read_region(region) == "the whole file");
}

TEST_CASE("file_region: open_file refuses what is not a regular file") {
  const long fds_before = test::count_open_fds();
  FileRegion region;
  CHECK(FileRegion::open_file(test::temp_dir(), region) == std::errc::invalid_argument);
  CHECK(FileRegion::open_file("/dev/null", region) == std::errc::invalid_argument);

  const std::string fifo = test::temp_dir() + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Without O_NONBLOCK this open would wait for a writer forever.
  const std::error_code fifo_ec = FileRegion::open_file(fifo, region);
  ::unlink(fifo.c_str());
  CHECK(fifo_ec == std::errc::invalid_argument);

  CHECK(FileRegion::open_file(test::temp_dir() + "/missing", region) ==
        std::errc::no_such_file_or_directory);
  CHECK(region.fd() == -1);
  CHECK(test::count_open_fds() == fds_before);
}

}  // namespace
}  // namespace waitron::core
