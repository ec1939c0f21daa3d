#include <doctest/doctest.h>

#include "http/chunked_encoder.hpp"

using namespace waitron::http;

TEST_CASE("chunk sizes are upper-case hex without leading zeros") {
  CHECK(chunk_header(1) == "1\r\n");
  CHECK(chunk_header(10) == "A\r\n");
  CHECK(chunk_header(255) == "FF\r\n");
  CHECK(chunk_header(4096) == "1000\r\n");
  CHECK(chunk_header(0xFFFFFFFFFFFFFFFFull) == "FFFFFFFFFFFFFFFF\r\n");
  CHECK(kLastChunk == "0\r\n\r\n");
}
