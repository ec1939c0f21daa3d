#include <doctest/doctest.h>

#include "support/error_code_printing.hpp"

#include <string>

#include "core/memory_buffer.hpp"
#include "http/chunked_decoder.hpp"
#include "support/connection_driver.hpp"

using namespace waitron;
using namespace waitron::http;

namespace {

struct Decoded {
  ChunkedDecoder::Status status;
  std::error_code error;
  std::string body;
  std::size_t consumed;
};

Decoded decode(std::string_view in, ChunkedLimits limits = {1 << 20, 4096, 1024}) {
  ChunkedDecoder d(limits);
  core::MemoryBuffer body;
  std::size_t consumed = 0;
  auto st = d.decode(in, consumed, body);
  return {st, d.error(), test::read_all(body), consumed};
}

}  // namespace

TEST_CASE("chunks, extensions and trailers") {
  auto r = decode("4\r\nWiki\r\n5;a=b;c;d=\"q \\\" s\"\r\npedia\r\n0\r\nX-T: 1\r\n\r\nNEXT");
  CHECK(r.status == ChunkedDecoder::Status::complete);
  CHECK(r.body == "Wikipedia");
  CHECK(std::string_view("4\r\nWiki\r\n5;a=b;c;d=\"q \\\" s\"\r\npedia\r\n0\r\nX-T: 1\r\n\r\nNEXT")
            .substr(r.consumed) == "NEXT");
  CHECK(decode("000A\r\n0123456789\r\n00\r\n\r\n").body == "0123456789");
  CHECK(decode("a\r\n0123456789\r\n0\r\n\r\n").status == ChunkedDecoder::Status::complete);
}

TEST_CASE("chunk extension grammar") {
  CHECK(is_valid_chunk_extension(""));
  CHECK(is_valid_chunk_extension(";a"));
  CHECK(is_valid_chunk_extension(";a=b;c=\"x y\""));
  CHECK_FALSE(is_valid_chunk_extension(";"));
  CHECK_FALSE(is_valid_chunk_extension(";a="));
  CHECK_FALSE(is_valid_chunk_extension("; a=b"));
  CHECK_FALSE(is_valid_chunk_extension(";a =b"));
  CHECK_FALSE(is_valid_chunk_extension(";a= b"));
  CHECK_FALSE(is_valid_chunk_extension(";a=\"unterminated"));
  CHECK_FALSE(is_valid_chunk_extension(";a=b c"));
}

TEST_CASE("malformed chunk framing is refused with the right code") {
  CHECK(decode("0x4\r\nWiki\r\n0\r\n\r\n").error == errc::invalid_chunk_size);
  CHECK(decode("+4\r\nWiki\r\n0\r\n\r\n").error == errc::invalid_chunk_size);
  CHECK(decode(" 4\r\nWiki\r\n0\r\n\r\n").error == errc::invalid_chunk_size);
  CHECK(decode("4 \r\nWiki\r\n0\r\n\r\n").error == errc::invalid_chunk_size);
  CHECK(decode("\r\n4\r\nWiki\r\n0\r\n\r\n").error == errc::invalid_chunk_size);
  CHECK(decode("4\nWiki\r\n0\r\n\r\n").error == errc::invalid_chunk_size);
  CHECK(decode("10000000000000000\r\n").error == errc::invalid_chunk_size);
  CHECK(decode("4; a=b\r\nWiki\r\n0\r\n\r\n").error == errc::invalid_chunk_extension);
  CHECK(decode("4;a=\r\nWiki\r\n0\r\n\r\n").error == errc::invalid_chunk_extension);
  CHECK(decode("4;a\nb\r\nWiki\r\n0\r\n\r\n").error == errc::invalid_chunk_extension);
  CHECK(decode("4\r\nWikiX\r\n0\r\n\r\n").error == errc::chunk_not_terminated);
  CHECK(decode("4\r\nWiki\n0\r\n\r\n").error == errc::chunk_not_terminated);
  CHECK(decode("4\r\nWiki\r\n0\r\n\n").error == errc::invalid_trailer);
  CHECK(decode("4\r\nWiki\r\n0\r\nA b\r\n\r\n").error == errc::invalid_trailer);
  CHECK(decode("4\r\nWiki\r\n0\r\nA: b\r\n c\r\n\r\n").error == errc::invalid_trailer);
  CHECK(decode("4\r\nWiki\r\n0\r\nA: b\n\r\n").error == errc::invalid_trailer);
}

TEST_CASE("limits are decided before the data is stored") {
  ChunkedLimits limits{100, 8, 32};
  auto big = decode("400\r\n", limits);
  CHECK(big.error == errc::body_too_large);
  CHECK(big.body.empty());
  CHECK(decode("5;abcdefghi\r\n", limits).error == errc::chunk_extension_too_long);
  CHECK(decode("5;abcdefg\r\nhello\r\n0\r\n\r\n", limits).status ==
        ChunkedDecoder::Status::complete);
  CHECK(decode("0\r\nX: " + std::string(40, 'a') + "\r\n\r\n", limits).error ==
        errc::trailer_too_large);
  // Framing bytes count: many empty-looking chunks still hit the body limit.
  std::string many;
  for (int i = 0; i < 40; ++i) many += "1\r\nx\r\n";
  CHECK(decode(many, limits).error == errc::body_too_large);
  // A size whose sum with the bytes so far would overflow is still a 413.
  CHECK(decode("FFFFFFFFFFFFFFFF\r\n", limits).error == errc::body_too_large);
}

TEST_CASE("decoding split at every byte gives the same body") {
  std::string in = "4;x=\"y\"\r\nWiki\r\n5\r\npedia\r\n0\r\nT: v\r\n\r\n";
  for (std::size_t split = 1; split < in.size(); ++split) {
    ChunkedDecoder d({1 << 20, 4096, 1024});
    core::MemoryBuffer body;
    std::size_t c1 = 0, c2 = 0;
    REQUIRE(d.decode(std::string_view(in).substr(0, split), c1, body) ==
            ChunkedDecoder::Status::need_more);
    CHECK(c1 == split);
    CHECK(d.decode(std::string_view(in).substr(split), c2, body) ==
          ChunkedDecoder::Status::complete);
    CHECK(test::read_all(body) == "Wikipedia");
  }
}

TEST_CASE("regression: the last chunk's framing counts too; size lines are bounded") {
  ChunkedLimits limits{1024, 4096, 1024};
  std::string zeros = "3\r\nabc\r\n" + std::string(2000, '0') + "\r\n\r\n";
  auto r = decode(zeros, limits);
  CHECK(r.status == ChunkedDecoder::Status::failed);
  CHECK(decode("0000000000000000000000000000000001\r\nx\r\n0\r\n\r\n").error ==
        errc::invalid_chunk_size);
  CHECK(decode("00000000000000000001\r\nx\r\n0\r\n\r\n").body == "x");
}

TEST_CASE("regression: trailer bytes are counted once each, final CRLF included") {
  ChunkedLimits limits{1 << 20, 4096, 64};
  auto section = [](std::vector<std::string> lines) {
    std::string s = "0\r\n";
    for (auto& l : lines) s += l + "\r\n";
    return s + "\r\n";
  };
  // 62 bytes of lines + CRLFs, plus the final CRLF: 64 in all, which is the limit.
  std::string one_line = "X: " + std::string(57, 'a');  // 60 + 2 + 2 = 64
  CHECK(decode(section({one_line}), limits).error == errc::trailer_too_large);
  std::string shorter = "X: " + std::string(56, 'a');  // 59 + 2 + 2 = 63
  CHECK(decode(section({shorter}), limits).status == ChunkedDecoder::Status::complete);
  std::string a = "A: " + std::string(26, 'a');  // 29 + 2
  std::string b = "B: " + std::string(26, 'b');  // 29 + 2, + 2 = 64
  CHECK(decode(section({a, b}), limits).error == errc::trailer_too_large);
  std::string b2 = "B: " + std::string(25, 'b');  // 63 in all
  CHECK(decode(section({a, b2}), limits).status == ChunkedDecoder::Status::complete);
}
