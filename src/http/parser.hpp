// The request parser: bytes in, one complete request at a time out.
//
// A message goes through three stages:
// 1. HeadScanner checks the head byte by byte (bare CR/LF, control bytes,
//    request line, obs-fold, field-line syntax, max_head_bytes).
// 2. llhttp (strict build) tokenises the complete, pre-validated head; its
//    callbacks collect the fields and apply the field rules of RFC 9110 /
//    RFC 9112 (duplicates, Host, Content-Length, Transfer-Encoding,
//    Connection, Expect) in one place, in a fixed order.
// 3. The body is framed here, never by llhttp: Content-Length bytes are
//    counted, chunked bodies go through ChunkedDecoder.
// The body is stored in the request's OverflowableBuffer (memory, then a
// temporary file past inbuf_overflow).
//
// Use: call feed() with the bytes not consumed yet. It consumes a prefix and
// returns an Event:
// - need_more: everything was consumed; call again with more bytes.
// - head_complete: returned once per message, right after the head; head()
//   is valid. Call feed() again (with the remaining bytes, possibly none).
// - message_complete: take_request() hands out the request; the parser is
//   then ready for the next message.
// - failed: error() says why; the parser must not be fed again (after an
//   error no later byte on the connection may be interpreted).
//
// One parser per connection, used by the loop thread only. No exception crosses
// llhttp: its callbacks are noexcept trampolines that turn a failure into an error
// code. feed() itself may throw std::bad_alloc.
#pragma once

#include <llhttp.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "http/chunked_decoder.hpp"
#include "http/head_scanner.hpp"
#include "http/request_head.hpp"

namespace waitron::http {

struct ParserLimits {
  std::uint64_t max_head_bytes = 262144;      // max_request_header_size
  std::uint64_t max_body_bytes = 1073741824;  // max_request_body_size
  std::uint64_t inbuf_overflow = 524288;      // bodies this size and up go to a temp file
  std::uint64_t max_chunk_extension_bytes = 4096;
  std::string temp_dir;        // "" = $TMPDIR or /tmp
  bool stream_bodies = false;  // stream_request_body: hand requests out at their head
};

class Parser {
 public:
  enum class Event { need_more, head_complete, message_complete, failed };

  explicit Parser(ParserLimits limits);
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;
  ~Parser();

  Event feed(std::string_view in, std::size_t& consumed);

  // The zero-copy path of a Content-Length body kept in memory (not streamed, below
  // inbuf_overflow): body_room() lends room in the request's body for at most `max` of the
  // bytes it still lacks (never more, so nothing past the body lands there; and no more
  // than 64 KiB or the bytes received so far, whichever is more), the caller
  // writes bytes into it (a read() from the socket) and commit_body(n) counts them as
  // feed() would have: need_more, or message_complete with the last one. Empty room when
  // no such body is being read. The room is valid until the next call on the parser.
  [[nodiscard]] std::span<char> body_room(std::size_t max);
  Event commit_body(std::size_t n) noexcept;

  // Valid from head_complete until take_request().
  [[nodiscard]] const RequestHead& head() const noexcept { return request_->head; }
  // True between head_complete and message_complete when a body follows.
  [[nodiscard]] bool expects_body() const noexcept;
  // After message_complete: the request, and the parser starts the next message.
  // At any other time: nullptr, and nothing changes.
  [[nodiscard]] std::shared_ptr<IncomingRequest> take_request();

  // Streaming mode (stream_bodies), right after head_complete when a body follows: hands
  // out the request now, with its `stream`; the parser keeps decoding the body into it.
  // When the body ends, feed() finishes the stream, returns message_complete and starts
  // the next message by itself (take_request() is not called for it). A body that fails
  // (malformed, too large) fails the stream with the error before feed() returns failed.
  [[nodiscard]] std::shared_ptr<IncomingRequest> take_streaming_request();
  // True while a handed-out request's body is still being decoded.
  [[nodiscard]] bool streaming() const noexcept { return stream_ != nullptr; }
  // Ends a streamed body early (the client left, the response finished first): the stream
  // fails with `why`, and the parser must not be fed again.
  void abort_stream(std::error_code why);

  // After failed.
  [[nodiscard]] std::error_code error() const noexcept { return error_; }
  // After failed: a detail naming the culprit where waitress names one
  // ("Duplicate header: Host", "Malformed HTTP method \"get\""), else empty.
  [[nodiscard]] const std::string& error_detail() const noexcept { return error_detail_; }
  // The HTTP minor version to answer an error with: the request's once its
  // request line was valid, else -1 (unknown).
  [[nodiscard]] int error_version_minor() const noexcept { return error_version_minor_; }

  // The current message's request line as received so far, without its line end and at
  // most 8 KiB of it; "" before any byte of it (the access log of a refused request).
  [[nodiscard]] std::string_view request_line() const noexcept;

  // True once any byte of a message (other than leading CRLFs) has arrived and
  // the message is not complete yet.
  [[nodiscard]] bool in_message() const noexcept;
  // True before any byte of the next message, leading CRLFs included, has arrived: the
  // parser is as a new one.
  [[nodiscard]] bool at_message_start() const noexcept {
    return stage_ == Stage::head && head_buf_.empty() && !stream_;
  }
  // Memory its buffers hold on to between messages (their capacity).
  [[nodiscard]] std::size_t retained_bytes() const noexcept {
    return head_buf_.capacity() + field_name_.capacity() + field_value_.capacity();
  }
  // True while a Content-Length body is being read (not chunked, not streamed).
  [[nodiscard]] bool reading_length_body() const noexcept {
    return stage_ == Stage::body_length && !stream_;
  }
  // True while a message has begun and its head is not complete yet.
  [[nodiscard]] bool in_head() const noexcept { return stage_ == Stage::head && in_message(); }

 private:
  enum class Stage { head, body_length, body_chunked, complete, failed };

  Event fail(std::error_code ec, int version_minor);
  Event body_done();
  core::Buffer& body_sink();
  Event finish_head();
  std::error_code check_framing();
  void start_message();

  // llhttp callbacks (noexcept trampolines; see parser.cpp).
  static int on_method(llhttp_t*, const char*, std::size_t) noexcept;
  static int on_url(llhttp_t*, const char*, std::size_t) noexcept;
  static int on_header_field(llhttp_t*, const char*, std::size_t) noexcept;
  static int on_header_value(llhttp_t*, const char*, std::size_t) noexcept;
  static int on_header_value_complete(llhttp_t*) noexcept;
  static int on_headers_complete(llhttp_t*) noexcept;
  static int on_message_complete(llhttp_t*) noexcept;

  ParserLimits limits_;
  llhttp_settings_t settings_{};
  llhttp_t llhttp_{};
  HeadScanner scanner_;
  Stage stage_ = Stage::head;
  std::string head_buf_;  // this message's head bytes so far
  std::shared_ptr<IncomingRequest> request_;
  std::shared_ptr<core::StreamBuffer> stream_;  // a handed-out request's body, while streaming
  std::unique_ptr<ChunkedDecoder> chunked_;
  std::uint64_t body_remaining_ = 0;
  int body_version_minor_ = 1;  // the current message's, for errors in its body

  // Collected by the llhttp callbacks for the current head.
  std::string field_name_;
  std::string field_value_;
  int host_count_ = 0;
  int content_length_count_ = 0;
  int content_type_count_ = 0;
  int transfer_encoding_count_ = 0;
  bool transfer_encoding_chunked_ = false;
  bool connection_close_ = false;
  bool connection_keep_alive_ = false;
  std::error_code field_error_;

  std::error_code error_;
  std::string error_detail_;
  int error_version_minor_ = -1;
};

}  // namespace waitron::http
