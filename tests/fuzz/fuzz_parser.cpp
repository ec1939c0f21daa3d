// libFuzzer target: http::Parser over arbitrary bytes, fed in pieces whose
// sizes come from the input itself. It checks the parser's contract: every
// call consumes no more than it was given, a failed parser stays failed, and
// a complete request's body length matches its framing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/parser.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using waitron::http::Parser;
  if (size == 0) return 0;
  // The first byte chooses the piece size (1..64), so splits are explored too.
  std::size_t piece = (data[0] & 63u) + 1;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  waitron::http::ParserLimits limits;
  limits.max_head_bytes = 2048;
  limits.max_body_bytes = 4096;
  limits.inbuf_overflow = 512;
  Parser parser(limits);
  std::string_view pending;
  while (!in.empty() || !pending.empty()) {
    if (pending.empty()) {
      pending = in.substr(0, piece);
      in.remove_prefix(pending.size());
    }
    std::size_t consumed = 0;
    Parser::Event ev = parser.feed(pending, consumed);
    require(consumed <= pending.size());
    pending.remove_prefix(consumed);
    if (ev == Parser::Event::failed) {
      require(static_cast<bool>(parser.error()));
      std::size_t again = 0;
      require(parser.feed("GET / HTTP/1.1\r\n\r\n", again) == Parser::Event::failed);
      return 0;
    }
    if (ev == Parser::Event::message_complete) {
      auto req = parser.take_request();
      require(req->body_length == req->body.size());
      if (req->head.content_length && !req->head.chunked) {
        require(req->body_length == *req->head.content_length);
      }
      require(req->head.version_minor == 0 || req->head.version_minor == 1);
      require(req->head.head_bytes < limits.max_head_bytes);
    } else if (ev == Parser::Event::need_more) {
      require(pending.empty());
    }
  }
  return 0;
}
