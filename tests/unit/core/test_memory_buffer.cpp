// MemoryBuffer: memory_view, compaction of the consumed prefix, spare room written in place,
// moves, close.
#include "core/memory_buffer.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <span>
#include <string>
#include <utility>

#include "core_test_support.hpp"

namespace waitron::core {
namespace {

TEST_CASE("memory_buffer: memory_view shows exactly the unread bytes") {
  MemoryBuffer buffer;
  CHECK(buffer.memory_view() == std::string_view());
  REQUIRE_FALSE(buffer.append("hello, "));
  REQUIRE_FALSE(buffer.append("world"));
  CHECK(buffer.memory_view() == "hello, world");
  buffer.consume(7);
  CHECK(buffer.memory_view() == "world");
  CHECK(buffer.size() == 5);
  CHECK(buffer.file_descriptor() == -1);
  CHECK(buffer.file_offset() == 0);
}

TEST_CASE("memory_buffer: peek copies from an offset and stops at the end") {
  MemoryBuffer buffer(std::string("0123456789"));
  buffer.consume(2);
  char out[4] = {};
  std::size_t copied = 0;
  REQUIRE_FALSE(buffer.peek(3, out, copied));
  CHECK(copied == 4);
  CHECK(std::string_view(out, copied) == "5678");
  REQUIRE_FALSE(buffer.peek(6, out, copied));
  CHECK(std::string_view(out, copied) == "89");
  REQUIRE_FALSE(buffer.peek(8, out, copied));
  CHECK(copied == 0);
  REQUIRE_FALSE(buffer.peek(UINT64_MAX, out, copied));
  CHECK(copied == 0);
  CHECK(buffer.size() == 8);
}

TEST_CASE("memory_buffer: a large consumed prefix is compacted away") {
  MemoryBuffer buffer;
  const std::string bytes = test::pattern(4 * MemoryBuffer::kCompactThreshold);
  REQUIRE_FALSE(buffer.append(bytes));
  const char* before = buffer.memory_view()->data();
  // Below the threshold the prefix stays: the view just moves forward.
  buffer.consume(MemoryBuffer::kCompactThreshold - 1);
  CHECK(buffer.memory_view()->data() == before + MemoryBuffer::kCompactThreshold - 1);
  // Once the prefix is past the threshold and half of the string, it goes.
  buffer.consume(2 * MemoryBuffer::kCompactThreshold + 1);
  const auto view = buffer.memory_view();
  REQUIRE(view.has_value());
  CHECK(view->data() == before);  // Erased in place: the data moved to the front.
  CHECK(*view == std::string_view(bytes).substr(3 * MemoryBuffer::kCompactThreshold));
  REQUIRE_FALSE(buffer.append("end"));
  CHECK(test::read_all(buffer) == bytes.substr(3 * MemoryBuffer::kCompactThreshold) + "end");
}

TEST_CASE("memory_buffer: consuming everything starts over and keeps working") {
  MemoryBuffer buffer;
  for (int round = 0; round < 5; ++round) {
    REQUIRE_FALSE(buffer.append(test::pattern(1000, static_cast<unsigned>(round))));
    buffer.consume(400);
    CHECK(buffer.memory_view() == test::pattern(1000, static_cast<unsigned>(round)).substr(400));
    buffer.consume(600);
    CHECK(buffer.size() == 0);
    CHECK(buffer.memory_view() == std::string_view());
  }
}

TEST_CASE("memory_buffer: bytes written into spare() room become content with commit()") {
  MemoryBuffer buffer;
  REQUIRE_FALSE(buffer.append("head:"));
  std::span<char> room = buffer.spare(100);
  REQUIRE(room.size() >= 100);
  CHECK(buffer.size() == 5);  // room is not content
  std::memcpy(room.data(), "body", 4);
  buffer.commit(4);
  CHECK(buffer.memory_view() == "head:body");
  // Room given and not committed is not content, and the next append goes after "body".
  room = buffer.spare(10);
  std::memcpy(room.data(), "junk", 4);
  REQUIRE_FALSE(buffer.append("!"));
  CHECK(test::read_all(buffer) == "head:body!");
}

TEST_CASE("memory_buffer: spare() grows the block and keeps the unread bytes") {
  MemoryBuffer buffer;
  const std::string bytes = test::pattern(3000);
  REQUIRE_FALSE(buffer.append(bytes));
  buffer.consume(1000);
  std::span<char> room = buffer.spare(1 << 20);
  REQUIRE(room.size() >= (1u << 20));
  std::memset(room.data(), 'z', 1 << 20);
  buffer.commit(1 << 20);
  CHECK(buffer.size() == 2000 + (1u << 20));
  CHECK(buffer.memory_view()->substr(0, 2000) == std::string_view(bytes).substr(1000));
  CHECK(buffer.memory_view()->substr(2000) == std::string(1 << 20, 'z'));
}

TEST_CASE("memory_buffer: spare() reuses a consumed prefix at least as large as what it moves") {
  MemoryBuffer buffer;
  buffer.reserve_more(1000);
  REQUIRE_FALSE(buffer.append(test::pattern(1000)));
  const char* block = buffer.memory_view()->data();
  buffer.consume(600);  // 400 unread at 600..1000, the block full
  std::span<char> room = buffer.spare(500);
  CHECK(room.data() == block + 400);  // moved to the front: no new block
  CHECK(buffer.memory_view() == std::string_view(test::pattern(1000)).substr(600));
  // A prefix smaller than the unread bytes is not worth moving them: a new block.
  MemoryBuffer other;
  other.reserve_more(1000);
  REQUIRE_FALSE(other.append(test::pattern(1000)));
  other.consume(100);
  const char* old_block = other.memory_view()->data() - 100;
  room = other.spare(50);
  CHECK(room.size() >= 50);
  CHECK(other.memory_view()->data() != old_block + 100);
  CHECK(other.memory_view() == std::string_view(test::pattern(1000)).substr(100));
}

TEST_CASE("memory_buffer: a moved-from buffer is empty and usable") {
  MemoryBuffer a;
  REQUIRE_FALSE(a.append("abcdef"));
  a.consume(2);
  MemoryBuffer b(std::move(a));
  CHECK(b.memory_view() == "cdef");
  CHECK(a.size() == 0);  // NOLINT(bugprone-use-after-move): documented state.
  REQUIRE_FALSE(a.append("xy"));
  CHECK(a.memory_view() == "xy");
  MemoryBuffer c;
  c = std::move(b);
  CHECK(c.memory_view() == "cdef");
  CHECK(b.size() == 0);  // NOLINT(bugprone-use-after-move)
}

TEST_CASE("memory_buffer: close releases the bytes and is idempotent") {
  MemoryBuffer buffer;
  REQUIRE_FALSE(buffer.append(test::pattern(100)));
  CHECK_FALSE(buffer.closed());
  buffer.close();
  CHECK(buffer.closed());
  CHECK(buffer.size() == 0);
  CHECK(buffer.memory_view() == std::string_view());
  CHECK(buffer.append("x") == std::errc::bad_file_descriptor);
  buffer.close();
  CHECK(buffer.closed());
}

}  // namespace
}  // namespace waitron::core
