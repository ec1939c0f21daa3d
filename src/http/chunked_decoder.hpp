// Decodes a chunked request body (RFC 9112 §7.1) into a buffer, strictly.
//
// waitron frames request bodies itself instead of letting llhttp 8.1.0 do it:
// that version rejects valid extension lists (`1;a=b;c`), accepts an empty
// extension value (`;a=`), a bare LF after the last chunk and obs-fold in
// trailers. This decoder accepts exactly
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-ext    = *( ";" token [ "=" ( token / quoted-string ) ] )
// which is RFC 9112's grammar without the optional whitespace (BWS) around
// ";" and "=" (waitress rejects it too). Trailer fields are checked like head
// fields and then discarded, as waitress does.
//
// Limits, decided before a byte of chunk data is stored:
// - body_too_large when the body's bytes on the wire so far plus the
//   announced chunk size reach max_body_bytes (waitress counts framing bytes
//   toward max_request_body_size too);
// - chunk_extension_too_long when one chunk's extensions pass
//   max_extension_bytes;
// - trailer_too_large when the trailer section (its final CRLF included)
//   reaches max_trailer_bytes;
// - invalid_chunk_size for a size of more than 32 hex digits, leading zeros
//   included.
//
// One decoder per request; the loop thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "core/buffer.hpp"

namespace waitron::http {

struct ChunkedLimits {
  std::uint64_t max_body_bytes = 0;
  std::uint64_t max_extension_bytes = 4096;
  std::uint64_t max_trailer_bytes = 0;
};

// True when `ext` (from the first ';' up to the CRLF) is a valid chunk-ext.
bool is_valid_chunk_extension(std::string_view ext) noexcept;

class ChunkedDecoder {
 public:
  enum class Status { need_more, complete, failed };

  explicit ChunkedDecoder(const ChunkedLimits& limits) noexcept : limits_(limits) {}

  // Decodes a prefix of `in`, appending chunk data to `body`; `consumed` is
  // set to the bytes used. Stops right after the body's final CRLF.
  Status decode(std::string_view in, std::size_t& consumed, core::Buffer& body);

  [[nodiscard]] std::error_code error() const noexcept { return error_; }
  // Bytes of the body section on the wire so far (framing included).
  [[nodiscard]] std::uint64_t wire_bytes() const noexcept { return wire_bytes_; }

 private:
  enum class State {
    size,
    extension,
    size_lf,
    data,
    data_cr,
    data_lf,
    trailer_start,
    trailer_line,
    trailer_lf,
    final_lf,
    done,
  };

  Status fail(std::error_code ec) noexcept;
  Status finish_size_line() noexcept;

  ChunkedLimits limits_;
  State state_ = State::size;
  std::uint64_t chunk_size_ = 0;
  int size_digits_ = 0;
  std::uint64_t remaining_ = 0;
  std::uint64_t wire_bytes_ = 0;
  std::uint64_t trailer_bytes_ = 0;
  std::string line_;  // the current chunk extension or trailer line
  std::error_code error_;
};

}  // namespace waitron::http
