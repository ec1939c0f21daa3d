// UniqueFd: closing on destruction, moves, release and reset.
#include "core/unique_fd.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>

#include <utility>

#include "core_test_support.hpp"

namespace waitron::core {
namespace {

bool is_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

TEST_CASE("unique_fd: closes on destruction and on reset") {
  const long fds_before = test::count_open_fds();
  int raw = -1;
  {
    UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    REQUIRE(fd.valid());
    raw = fd.get();
    CHECK(is_open(raw));
    CHECK(test::count_open_fds() == fds_before + 1);
  }
  CHECK_FALSE(is_open(raw));
  UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  fd.reset();
  CHECK_FALSE(fd.valid());
  CHECK(test::count_open_fds() == fds_before);
}

TEST_CASE("unique_fd: moves transfer ownership; release gives it up") {
  UniqueFd a(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const int raw = a.get();
  UniqueFd b(std::move(a));
  CHECK_FALSE(a.valid());  // NOLINT(bugprone-use-after-move)
  CHECK(b.get() == raw);
  UniqueFd c;
  c = std::move(b);
  CHECK(c.get() == raw);
  const int released = c.release();
  CHECK_FALSE(c.valid());
  CHECK(is_open(released));
  ::close(released);
}

}  // namespace
}  // namespace waitron::core
