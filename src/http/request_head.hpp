// The value types of a parsed request: its head and, once complete, its body.
//
// The parser fills them on the loop thread; a complete IncomingRequest then
// moves to whoever runs the application, which owns it from then on. It travels
// as a std::shared_ptr made by the parser (one allocation with its control block)
// though it has one owner until then: the task shares it with the body readers it
// hands out (wsgi.input), which may outlive the call. Plain values: no
// synchronisation.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/overflowable_buffer.hpp"
#include "core/stream_buffer.hpp"
#include "waitron/request.hpp"

namespace waitron::http {

// One field line, the name exactly as the client sent it, the value with
// surrounding OWS removed (RFC 9110 §5.5). The public API's name-value pair: a native
// application's response fields become a ResponseHead's without a copy.
using Field = waitron::Header;

struct RequestHead {
  std::string method;
  std::string target;         // the request-target exactly as sent
  int version_minor = 1;      // HTTP/1.<minor>; only 0 and 1 are ever parsed
  std::vector<Field> fields;  // in order; names containing '_' are dropped

  // Framing and connection facts, derived once by the parser.
  std::optional<std::uint64_t> content_length;  // the Content-Length field, when sent
  bool chunked = false;                         // Transfer-Encoding: chunked
  bool keep_alive = true;                       // persistent per the version and Connection tokens
  bool expect_continue = false;                 // HTTP/1.1 Expect: 100-continue
  std::uint64_t head_bytes = 0;                 // bytes of the head on the wire

  [[nodiscard]] bool is_head_method() const noexcept { return method == "HEAD"; }
  // The first field named `name` (case-insensitive), or nullptr.
  [[nodiscard]] const Field* find(std::string_view name) const noexcept;
};

// A request: the head and the body (de-chunked). Normally the request is complete and
// its body is in `body`, an OverflowableBuffer (memory up to inbuf_overflow, then a
// temporary file). In the streaming mode a request with a body is handed out at its head:
// `stream` is set, shared with the parser, which keeps appending to it as bytes arrive;
// `body` and `body_length` are then unused.
struct IncomingRequest {
  RequestHead head;
  core::OverflowableBuffer body;
  std::uint64_t body_length = 0;  // bytes of body (after de-chunking)
  std::shared_ptr<core::StreamBuffer> stream;

  IncomingRequest(std::uint64_t inbuf_overflow, std::string temp_dir)
      : body(inbuf_overflow, std::move(temp_dir)) {}
};

}  // namespace waitron::http
