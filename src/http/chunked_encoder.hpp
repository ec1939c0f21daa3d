// Transfer-Encoding: chunked framing of response bodies (RFC 9112 §7.1).
//
// waitress sends one chunk per non-empty application write, never coalesced
// or split, the size in upper-case hex without leading zeros, and a last
// chunk with no trailers; waitron frames the same bytes. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace waitron::http {

// "1A\r\n" for a 26-byte chunk. Precondition: size > 0.
std::string chunk_header(std::uint64_t size);

// The CRLF after chunk data.
inline constexpr std::string_view kChunkTrailer = "\r\n";

// The last chunk and the empty trailer section.
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace waitron::http
