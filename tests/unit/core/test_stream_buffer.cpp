#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include "core/stream_buffer.hpp"
#include "core_test_support.hpp"

using namespace waitron::core;

namespace {

std::string tmp() {
  const char* d = std::getenv("WAITRON_TEST_TMPDIR");
  return d ? d : "";
}

}  // namespace

TEST_CASE("a reader waits for bytes that have not arrived, then gets them") {
  StreamBuffer body(1 << 20, tmp());
  std::string got;
  std::thread reader([&] {
    char buf[16];
    std::size_t copied = 0;
    std::uint64_t at = 0;
    while (!body.read_at(at, std::span<char>(buf, sizeof buf), copied, true) && copied > 0) {
      got.append(buf, copied);
      at += copied;
    }
  });
  REQUIRE(!body.append("hello "));
  REQUIRE(!body.append("world"));
  body.finish();
  reader.join();
  CHECK(got == "hello world");
  CHECK(body.complete());
  CHECK(body.memory_view() == std::string_view("hello world"));
}

TEST_CASE("fail() wakes a waiting reader with the error; bytes before it stay readable") {
  StreamBuffer body(1 << 20, tmp());
  REQUIRE(!body.append("abc"));
  std::atomic<bool> started{false};
  std::error_code seen;
  std::thread reader([&] {
    char buf[8];
    std::size_t copied = 0;
    started = true;
    seen = body.read_at(3, std::span<char>(buf, 8), copied, true);  // waits past "abc"
  });
  while (!started) std::this_thread::yield();
  body.fail(std::make_error_code(std::errc::connection_aborted));
  reader.join();
  CHECK(seen == std::errc::connection_aborted);
  char buf[8];
  std::size_t copied = 0;
  CHECK(!body.read_at(0, std::span<char>(buf, 8), copied, true));
  CHECK(std::string(buf, copied) == "abc");
  std::uint64_t length = 0;
  CHECK(body.wait_complete(length) == std::errc::connection_aborted);
  CHECK_FALSE(body.memory_view().has_value());
  CHECK(body.append("late") == std::errc::bad_file_descriptor);
}

TEST_CASE("without waiting, a read returns what has arrived; past the threshold it spills") {
  StreamBuffer body(8, tmp());
  char buf[32];
  std::size_t copied = 99;
  CHECK(!body.read_at(0, std::span<char>(buf, 32), copied, false));
  CHECK(copied == 0);
  REQUIRE(!body.append("0123456789abc"));  // spills to a temporary file
  CHECK(!body.read_at(4, std::span<char>(buf, 32), copied, false));
  CHECK(std::string(buf, copied) == "456789abc");
  CHECK(body.size() == 13);
  body.finish();
  std::uint64_t length = 0;
  CHECK(!body.wait_complete(length));
  CHECK(length == 13);
  CHECK_FALSE(body.memory_view().has_value());  // in a file
}
