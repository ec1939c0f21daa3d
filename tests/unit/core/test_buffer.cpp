// The Buffer contract of buffer.hpp, checked against a std::string model for
// every implementation: MemoryBuffer, FileBuffer, and OverflowableBuffer with
// a threshold of 0 (always a file), a small one (spills during the test) and
// a huge one (never spills).
#include "core/buffer.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/file_buffer.hpp"
#include "core/memory_buffer.hpp"
#include "core/overflowable_buffer.hpp"
#include "core_test_support.hpp"

namespace waitron::core {
namespace {

struct Kind {
  const char* name;
  std::function<std::unique_ptr<Buffer>()> make;
};

std::vector<Kind> all_kinds() {
  return {
      {"MemoryBuffer", [] { return std::make_unique<MemoryBuffer>(); }},
      {"FileBuffer",
       []() -> std::unique_ptr<Buffer> {
         std::unique_ptr<FileBuffer> file;
         REQUIRE_FALSE(FileBuffer::create(test::temp_dir(), file));
         return file;
       }},
      {"OverflowableBuffer(0)",
       [] { return std::make_unique<OverflowableBuffer>(0, test::temp_dir()); }},
      {"OverflowableBuffer(5000)",
       [] { return std::make_unique<OverflowableBuffer>(5000, test::temp_dir()); }},
      {"OverflowableBuffer(huge)",
       [] { return std::make_unique<OverflowableBuffer>(UINT64_MAX, test::temp_dir()); }},
  };
}

// Checks that `buffer` holds exactly `model`, peeking from a few offsets.
void check_same(const Buffer& buffer, const std::string& model) {
  REQUIRE(buffer.size() == model.size());
  CHECK(test::read_all(buffer) == model);
  if (auto view = buffer.memory_view()) CHECK(*view == model);
  char byte = 0;
  for (std::uint64_t at : {std::uint64_t{0}, model.size() / 3, model.size() / 2,
                           model.size() == 0 ? 0 : model.size() - 1}) {
    std::size_t copied = 9;
    REQUIRE_FALSE(buffer.peek(at, std::span<char>(&byte, 1), copied));
    if (at < model.size()) {
      REQUIRE(copied == 1);
      CHECK(byte == model[at]);
    } else {
      CHECK(copied == 0);
    }
  }
}

TEST_CASE("buffer: a randomized sequence of append, peek and consume matches a string model") {
  for (const Kind& kind : all_kinds()) {
    CAPTURE(kind.name);
    auto buffer = kind.make();
    std::string model;
    std::mt19937 rng(20240607);  // Fixed seed: failures are reproducible.
    std::uniform_int_distribution<int> op(0, 9);
    std::uniform_int_distribution<std::size_t> length(0, 3000);
    for (int step = 0; step < 3000; ++step) {
      CAPTURE(step);
      const int what = op(rng);
      if (what < 5) {
        const std::string bytes = test::pattern(length(rng), static_cast<unsigned>(step));
        REQUIRE_FALSE(buffer->append(bytes));
        model += bytes;
      } else if (what < 8) {
        const std::uint64_t offset =
            std::uniform_int_distribution<std::size_t>(0, model.size() + 10)(rng);
        std::vector<char> out(length(rng));
        std::size_t copied = 0;
        REQUIRE_FALSE(buffer->peek(offset, out, copied));
        const std::string expected =
            offset < model.size() ? model.substr(offset, out.size()) : std::string();
        REQUIRE(std::string(out.data(), copied) == expected);
      } else {
        const std::size_t n = std::uniform_int_distribution<std::size_t>(0, model.size())(rng);
        buffer->consume(n);
        model.erase(0, n);
      }
      REQUIRE(buffer->size() == model.size());
    }
    check_same(*buffer, model);
    buffer->consume(model.size());
    check_same(*buffer, "");
  }
}

TEST_CASE("buffer: 100,000 one-byte appends") {
  for (const Kind& kind : all_kinds()) {
    CAPTURE(kind.name);
    auto buffer = kind.make();
    const std::string model = test::pattern(100'000, 3);
    for (char c : model) REQUIRE_FALSE(buffer->append(std::string_view(&c, 1)));
    check_same(*buffer, model);
  }
}

TEST_CASE("buffer: appends of mixed sizes, consumed in odd pieces") {
  for (const Kind& kind : all_kinds()) {
    CAPTURE(kind.name);
    auto buffer = kind.make();
    std::string model;
    const std::size_t sizes[] = {0, 1, 2, 7, 4095, 4096, 4097, 65536, 3, 200'000, 1, 0, 12345};
    unsigned seed = 0;
    for (std::size_t n : sizes) {
      const std::string bytes = test::pattern(n, ++seed);
      REQUIRE_FALSE(buffer->append(bytes));
      model += bytes;
    }
    check_same(*buffer, model);
    std::string drained;
    std::vector<char> piece(7777);
    while (buffer->size() > 0) {
      std::size_t copied = 0;
      REQUIRE_FALSE(buffer->peek(0, piece, copied));
      REQUIRE(copied > 0);
      drained.append(piece.data(), copied);
      buffer->consume(copied);
    }
    CHECK(drained == model);
  }
}

TEST_CASE("buffer: after close() the buffer is empty, refuses appends, and close() repeats") {
  for (const Kind& kind : all_kinds()) {
    CAPTURE(kind.name);
    auto buffer = kind.make();
    REQUIRE_FALSE(buffer->append(test::pattern(10'000)));
    buffer->close();
    CHECK(buffer->size() == 0);
    CHECK(buffer->file_descriptor() == -1);
    CHECK(buffer->append("x") == std::errc::bad_file_descriptor);
    CHECK(buffer->size() == 0);
    buffer->close();
    CHECK(buffer->size() == 0);
    CHECK(test::read_all(*buffer).empty());
  }
}

TEST_CASE("buffer: no temporary file has a name and no descriptor outlives its buffer") {
  const std::string& dir = test::temp_dir();
  const long fds_before = test::count_open_fds();
  REQUIRE(fds_before > 0);
  for (const Kind& kind : all_kinds()) {
    CAPTURE(kind.name);
    {
      auto buffer = kind.make();
      REQUIRE_FALSE(buffer->append(test::pattern(20'000)));
      CHECK(test::count_entries(dir) == 0);
      buffer->consume(20'000);
      REQUIRE_FALSE(buffer->append("tail"));
      CHECK(test::count_entries(dir) == 0);
      buffer->close();
      CHECK(test::count_open_fds() == fds_before);
    }
    {
      auto buffer = kind.make();
      REQUIRE_FALSE(buffer->append(test::pattern(20'000)));
    }  // Destroyed without close().
    CHECK(test::count_open_fds() == fds_before);
    CHECK(test::count_entries(dir) == 0);
  }
}

}  // namespace
}  // namespace waitron::core
