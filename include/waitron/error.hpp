// waitron's error codes, as a std::error_code category.
//
// Every failure the protocol engine can detect in a request has one code
// here; http/error_response turns a code into the response a client sees
// (status, reason and detail, as waitress words them). Plain values: any
// thread may use them.
#pragma once

#include <string>
#include <system_error>

namespace waitron {

enum class errc {
  // 400 Bad Request: the request head.
  bare_cr_or_lf = 1,         // a CR or LF that is not part of a CRLF
  invalid_byte_in_head,      // NUL, another control character or DEL
  leading_whitespace,        // SP or HTAB before the request line
  invalid_request_line,      // not `method SP target SP HTTP/d.d`
  malformed_method,          // the method has lower-case letters
  invalid_target,            // not an origin, absolute or asterisk form
  obs_fold,                  // a field line starting with SP or HTAB
  invalid_field_line,        // empty name, space before the colon, no colon
  duplicate_field,           // a second Host, Content-Length or Content-Type
  invalid_host,              // Host is not uri-host [":" port]
  invalid_content_length,    // not 1*DIGIT, or too large for 64 bits
  transfer_encoding_http10,  // Transfer-Encoding on an HTTP/1.0 request
  transfer_encoding_with_content_length,
  // 400 Bad Request: the chunked body.
  invalid_chunk_size,
  invalid_chunk_extension,
  chunk_extension_too_long,
  chunk_not_terminated,
  invalid_trailer,
  // 413, 431.
  body_too_large,
  head_too_large,
  trailer_too_large,
  // 501, 505.
  method_not_implemented,
  transfer_encoding_not_implemented,
  version_not_supported,
  // 500: the server could not store the body (temporary file failure), or ran out of
  // memory while parsing.
  body_buffer_failed,
  internal_error,
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace waitron

template <>
struct std::is_error_code_enum<waitron::errc> : std::true_type {};
