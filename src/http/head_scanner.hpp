// Byte-level validation of a request head before llhttp sees it.
//
// The scanner walks the bytes of one message's head as they arrive and
// stops at the first byte that breaks RFC 9112's head grammar, at the end of
// the head (the empty line), or when the head reaches the size limit. It
// checks what llhttp 8.1.0 does not, or not strictly enough:
// - every line ends with CRLF; a bare CR or LF is an error (RFC 9112 §2.2);
// - no NUL, other control character or DEL, except HTAB in field values
//   (RFC 9110 §5.5);
// - empty lines before the request line are skipped (RFC 9112 §2.2), leading
//   whitespace is an error;
// - the request line is `method SP request-target SP HTTP-version`
//   (RFC 9112 §3) with a supported version and a known method;
// - no obs-fold (RFC 9112 §5.2: a server may reject it with 400);
// - each field line is `field-name ":" OWS field-value OWS` with no space
//   before the colon (RFC 9112 §5.1).
// The scan is linear in the head's length: each byte is classified once, and each
// line is checked once more when its CRLF arrives.
//
// One scanner per connection, used by the loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "waitron/error.hpp"

namespace waitron::http {

// The parts of a validated request line, as views into the head.
struct RequestLine {
  std::string_view method;
  std::string_view target;
  int version_minor = -1;
};

// Validates a request line (without its CRLF). Returns {} or the error:
// invalid_request_line, malformed_method, invalid_target,
// version_not_supported or method_not_implemented.
std::error_code parse_request_line(std::string_view line, RequestLine& out) noexcept;

// Validates one field line (without its CRLF) of a head or a trailer
// section: bytes and syntax. Returns {} or the error.
std::error_code check_field_line(std::string_view line) noexcept;

class HeadScanner {
 public:
  enum class Status { need_more, complete, failed };

  explicit HeadScanner(std::uint64_t max_head_bytes) noexcept : max_head_bytes_(max_head_bytes) {}

  // Scans head[scanned()..]. `head` holds every byte of this message received
  // so far, from its first byte; earlier bytes must be unchanged between calls.
  Status scan(std::string_view head) noexcept;

  [[nodiscard]] std::size_t scanned() const noexcept { return pos_; }
  // After complete: the head's length including the final CRLF.
  [[nodiscard]] std::size_t head_end() const noexcept { return pos_; }
  // After complete: where the request line starts (past skipped CRLFs).
  [[nodiscard]] std::size_t request_line_begin() const noexcept { return request_line_begin_; }
  // After failed: why.
  [[nodiscard]] std::error_code error() const noexcept { return error_; }
  // 0 or 1 once the request line has been validated, else -1.
  [[nodiscard]] int version_minor() const noexcept { return version_minor_; }

  void reset() noexcept { *this = HeadScanner(max_head_bytes_); }

 private:
  enum class State {
    message_start,  // skipping CRLFs before the request line
    message_start_lf,
    request_line,
    request_line_lf,
    line_start,  // the first byte of a field line, or the CR of the final CRLF
    field_line,
    field_line_lf,
    final_lf,
  };

  Status fail(errc e) noexcept;

  std::uint64_t max_head_bytes_;
  State state_ = State::message_start;
  std::size_t pos_ = 0;
  std::size_t line_begin_ = 0;
  std::size_t request_line_begin_ = 0;
  int version_minor_ = -1;
  std::error_code error_;
};

}  // namespace waitron::http
