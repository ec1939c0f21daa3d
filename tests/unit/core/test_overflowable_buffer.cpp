// OverflowableBuffer: the threshold rule of overflowable_buffer.hpp, exactly
// at and around the threshold, consumption across the spill, expect_total,
// failures to create the file, and descriptor hygiene.
#include "core/overflowable_buffer.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "core_test_support.hpp"

namespace waitron::core {
namespace {

constexpr std::uint64_t kThreshold = 1000;

// Appends `bytes` in pieces of 1, 2, 3, ... bytes, checking after each
// append that the buffer has spilled exactly when the unread total reached
// the threshold.
void fill_in_pieces(OverflowableBuffer& buffer, const std::string& bytes) {
  std::size_t done = 0;
  for (std::size_t n = 1; done < bytes.size(); ++n) {
    const std::size_t take = std::min(n, bytes.size() - done);
    REQUIRE_FALSE(buffer.append(std::string_view(bytes).substr(done, take)));
    done += take;
    CAPTURE(done);
    REQUIRE(buffer.spilled() == (done >= buffer.threshold()));
  }
}

TEST_CASE("overflowable_buffer: stays in memory below the threshold, spills at it") {
  struct Case {
    std::uint64_t total;
    bool file;
  };
  for (const Case c : {Case{kThreshold - 1, false}, Case{kThreshold, true},
                       Case{kThreshold + 1, true}, Case{1, false}}) {
    CAPTURE(c.total);
    const std::string bytes = test::pattern(c.total, 7);
    for (bool pieces : {false, true}) {
      CAPTURE(pieces);
      OverflowableBuffer buffer(kThreshold, test::temp_dir());
      if (pieces) {
        fill_in_pieces(buffer, bytes);
      } else {
        REQUIRE_FALSE(buffer.append(bytes));
      }
      CHECK(buffer.spilled() == c.file);
      CHECK(buffer.memory_view().has_value() == !c.file);
      CHECK((buffer.file_descriptor() >= 0) == c.file);
      CHECK(buffer.size() == c.total);
      CHECK(test::read_all(buffer, 97) == bytes);
      // Peeks that straddle every byte position read the right bytes.
      for (std::uint64_t at = 0; at < c.total; at += 37) {
        char out[64];
        std::size_t copied = 0;
        REQUIRE_FALSE(buffer.peek(at, out, copied));
        CHECK(std::string_view(out, copied) == std::string_view(bytes).substr(at, 64));
      }
      CHECK(test::count_entries(test::temp_dir()) == 0);
    }
  }
}

TEST_CASE("overflowable_buffer: once spilled it stays in the file, even when drained") {
  OverflowableBuffer buffer(kThreshold, test::temp_dir());
  REQUIRE_FALSE(buffer.append(test::pattern(kThreshold)));
  REQUIRE(buffer.spilled());
  buffer.consume(kThreshold);
  CHECK(buffer.size() == 0);
  CHECK(buffer.spilled());
  REQUIRE_FALSE(buffer.append("x"));
  CHECK(buffer.spilled());
  CHECK_FALSE(buffer.memory_view().has_value());
  CHECK(test::read_all(buffer) == "x");
}

TEST_CASE("overflowable_buffer: the threshold counts unread bytes, not bytes ever appended") {
  OverflowableBuffer buffer(kThreshold, test::temp_dir());
  for (int i = 0; i < 10; ++i) {
    REQUIRE_FALSE(buffer.append(test::pattern(kThreshold - 1)));
    buffer.consume(kThreshold - 1);
  }
  CHECK_FALSE(buffer.spilled());
}

TEST_CASE("overflowable_buffer: consumption in memory, then a spill, then reading in order") {
  OverflowableBuffer buffer(kThreshold, test::temp_dir());
  std::string model = test::pattern(900, 1);
  REQUIRE_FALSE(buffer.append(model));
  buffer.consume(500);
  model.erase(0, 500);
  // 400 unread + 599 = 999: still in memory although 1,499 bytes were appended.
  std::string more = test::pattern(599, 2);
  REQUIRE_FALSE(buffer.append(more));
  model += more;
  REQUIRE_FALSE(buffer.spilled());
  // 999 + 1 = 1000 reaches the threshold.
  REQUIRE_FALSE(buffer.append("!"));
  model += "!";
  REQUIRE(buffer.spilled());
  CHECK(buffer.file_offset() == 0);  // Only the unread bytes went to the file.
  CHECK(buffer.size() == model.size());
  CHECK(test::read_all(buffer, 13) == model);
  buffer.consume(300);
  model.erase(0, 300);
  CHECK(buffer.file_offset() == 300);
  more = test::pattern(5000, 3);
  REQUIRE_FALSE(buffer.append(more));
  model += more;
  std::string drained;
  std::vector<char> piece(333);
  while (buffer.size() > 0) {
    std::size_t copied = 0;
    REQUIRE_FALSE(buffer.peek(0, piece, copied));
    drained.append(piece.data(), copied);
    buffer.consume(copied);
  }
  CHECK(drained == model);
}

TEST_CASE("overflowable_buffer: threshold 0 sends every non-empty append to the file") {
  OverflowableBuffer buffer(0, test::temp_dir());
  REQUIRE_FALSE(buffer.append(""));
  CHECK_FALSE(buffer.spilled());  // An empty buffer holds no file.
  REQUIRE_FALSE(buffer.expect_total(0));
  CHECK_FALSE(buffer.spilled());
  REQUIRE_FALSE(buffer.append("a"));
  CHECK(buffer.spilled());
  CHECK(test::read_all(buffer) == "a");
}

TEST_CASE("overflowable_buffer: expect_total below the threshold makes room for the bytes") {
  OverflowableBuffer buffer(1024 * 1024, test::temp_dir());
  REQUIRE_FALSE(buffer.expect_total(64 * 1024));
  REQUIRE_FALSE(buffer.append("a"));
  const char* first = buffer.memory_view()->data();
  // 64 KiB arriving in 8 KiB reads: no reallocation (and no copy) on the way.
  for (int i = 0; i < 8; ++i) REQUIRE_FALSE(buffer.append(std::string(i == 0 ? 8191 : 8192, 'b')));
  CHECK(buffer.size() == 64 * 1024);
  CHECK(buffer.memory_view()->data() == first);
  CHECK_FALSE(buffer.spilled());

  // A client announcing far more than it sends gets room for 64 KiB at most: a terabyte
  // under a larger threshold reserves nothing like it (which would throw).
  OverflowableBuffer large(std::uint64_t{1} << 41, test::temp_dir());
  REQUIRE_FALSE(large.expect_total(std::uint64_t{1} << 40));
  REQUIRE_FALSE(large.append("a"));
  CHECK(large.memory_view()->size() == 1);
  CHECK_FALSE(large.spilled());
}

TEST_CASE("overflowable_buffer: spare() room never lets the stored bytes reach the threshold") {
  OverflowableBuffer buffer(kThreshold, test::temp_dir());
  REQUIRE_FALSE(buffer.append("0123456789"));
  std::span<char> room = buffer.spare(5000);
  CHECK(room.size() == kThreshold - 1 - 10);  // the most that stays in memory
  std::memset(room.data(), 'x', room.size());
  buffer.commit(room.size());
  CHECK(buffer.size() == kThreshold - 1);
  CHECK_FALSE(buffer.spilled());
  CHECK(buffer.spare(1).empty());  // full: the next byte goes through append() and spills
  REQUIRE_FALSE(buffer.append("y"));
  CHECK(buffer.spilled());
  CHECK(buffer.spare(1).empty());  // in a file: no room in memory
  CHECK(test::read_all(buffer) == "0123456789" + std::string(kThreshold - 11, 'x') + "y");

  OverflowableBuffer small(kThreshold, test::temp_dir());
  CHECK(small.spare(0).empty());
  CHECK(small.spare(7).size() == 7);  // no more than asked
  small.close();
  CHECK(small.spare(7).empty());
  OverflowableBuffer none(0, test::temp_dir());
  CHECK(none.spare(7).empty());  // threshold 0: every byte goes to the file
}

TEST_CASE(
    "overflowable_buffer: expect_total spills ahead when the total will reach the threshold") {
  SUBCASE("below the threshold: nothing happens") {
    OverflowableBuffer buffer(kThreshold, test::temp_dir());
    REQUIRE_FALSE(buffer.expect_total(kThreshold - 1));
    CHECK_FALSE(buffer.spilled());
  }
  SUBCASE("at the threshold, before any byte") {
    OverflowableBuffer buffer(kThreshold, test::temp_dir());
    REQUIRE_FALSE(buffer.expect_total(kThreshold));
    CHECK(buffer.spilled());
    CHECK(buffer.size() == 0);
    REQUIRE_FALSE(buffer.append("abc"));
    CHECK(test::read_all(buffer) == "abc");
  }
  SUBCASE("above the threshold, with bytes already in memory") {
    OverflowableBuffer buffer(kThreshold, test::temp_dir());
    REQUIRE_FALSE(buffer.append("0123456789"));
    buffer.consume(4);
    REQUIRE_FALSE(buffer.expect_total(kThreshold * 10));
    CHECK(buffer.spilled());
    CHECK(test::read_all(buffer) == "456789");
    REQUIRE_FALSE(buffer.expect_total(kThreshold * 10));  // Again: no change.
    CHECK(test::read_all(buffer) == "456789");
  }
  SUBCASE("after close") {
    OverflowableBuffer buffer(kThreshold, test::temp_dir());
    buffer.close();
    CHECK(buffer.expect_total(kThreshold) == std::errc::bad_file_descriptor);
  }
}

TEST_CASE("overflowable_buffer: a file that cannot be created leaves the buffer unchanged") {
  const long fds_before = test::count_open_fds();
  OverflowableBuffer buffer(kThreshold, test::temp_dir() + "/missing");
  REQUIRE_FALSE(buffer.append(test::pattern(600)));
  CHECK(buffer.append(test::pattern(400, 1)) == std::errc::no_such_file_or_directory);
  CHECK_FALSE(buffer.spilled());
  CHECK(buffer.memory_view() == test::pattern(600));
  CHECK(buffer.expect_total(kThreshold) == std::errc::no_such_file_or_directory);
  CHECK_FALSE(buffer.spilled());
  CHECK(buffer.memory_view() == test::pattern(600));
  REQUIRE_FALSE(buffer.append(test::pattern(399, 1)));  // Still fits below.
  CHECK(buffer.memory_view() == test::pattern(600) + test::pattern(399, 1));
  CHECK(test::count_open_fds() == fds_before);
}

TEST_CASE("overflowable_buffer: the file goes with close() and with the buffer") {
  const long fds_before = test::count_open_fds();
  {
    OverflowableBuffer buffer(kThreshold, test::temp_dir());
    REQUIRE_FALSE(buffer.append(test::pattern(kThreshold * 3)));
    REQUIRE(buffer.spilled());
    CHECK(test::count_open_fds() == fds_before + 1);
    CHECK(test::count_entries(test::temp_dir()) == 0);
    buffer.close();
    CHECK_FALSE(buffer.spilled());
    CHECK(test::count_open_fds() == fds_before);
    buffer.close();
    CHECK(buffer.append("x") == std::errc::bad_file_descriptor);
    CHECK(buffer.size() == 0);
  }
  {
    OverflowableBuffer buffer(kThreshold, test::temp_dir());
    REQUIRE_FALSE(buffer.append(test::pattern(kThreshold * 3)));
    CHECK(test::count_open_fds() == fds_before + 1);
  }
  CHECK(test::count_open_fds() == fds_before);
  CHECK(test::count_entries(test::temp_dir()) == 0);
}

TEST_CASE("overflowable_buffer: a moved buffer keeps its file") {
  OverflowableBuffer a(kThreshold, test::temp_dir());
  REQUIRE_FALSE(a.append(test::pattern(kThreshold)));
  const int fd = a.file_descriptor();
  OverflowableBuffer b(std::move(a));
  CHECK(b.spilled());
  CHECK(b.file_descriptor() == fd);
  CHECK(test::read_all(b) == test::pattern(kThreshold));
}

}  // namespace
}  // namespace waitron::core
