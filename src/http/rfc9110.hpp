// Character classes and small grammar checks of RFC 9110 / RFC 9112 / RFC 3986
// (the role of waitress's rfc7230.py). Pure functions over bytes; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace waitron::http {

// tchar (RFC 9110 §5.6.2).
bool is_tchar(unsigned char c) noexcept;
bool is_token(std::string_view s) noexcept;

// field-vchar = VCHAR / obs-text (RFC 9110 §5.5): 0x21-0x7E and 0x80-0xFF.
inline bool is_field_vchar(unsigned char c) noexcept {
  return (c > 0x20 && c != 0x7f);
}

// A field value after OWS trimming: field-vchars separated by SP / HTAB (RFC 9110 §5.5).
bool is_field_value(std::string_view s) noexcept;

// Removes leading and trailing SP / HTAB only (RFC 9110 §5.6.3 OWS); other
// bytes such as 0xA0 or 0x85 are part of the value.
std::string_view trim_ows(std::string_view s) noexcept;

// ASCII case-insensitive equality. Inline: field names are compared on every request.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

// Eight bytes at a time. In a word w (bytes below 0x80 or not, loaded in any order),
// (w - 0x01..01) & ~w & 0x80..80 is non-zero exactly when some byte of w is zero; so
// has_zero_byte(w ^ (b * 0x01..01)) says whether w holds the byte b, and
// has_byte_below(w, n) whether it holds a byte below n (n <= 0x80).
inline constexpr std::uint64_t kEachByte = 0x0101010101010101;
inline constexpr bool has_byte_below(std::uint64_t w, unsigned char n) noexcept {
  return ((w - kEachByte * n) & ~w & (kEachByte * 0x80)) != 0;
}
inline constexpr bool has_zero_byte(std::uint64_t w) noexcept {
  return has_byte_below(w, 1);
}

// True when `s` holds a CR or an LF (header injection): eight bytes at a time.
bool has_cr_or_lf(std::string_view s) noexcept;

// True when a comma-separated token list (RFC 9110 §5.6.1), such as a
// Connection field value, contains `token` (case-insensitive).
bool list_contains_token(std::string_view list, std::string_view token) noexcept;

// Host = uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2); an empty
// value is valid.
bool is_valid_host(std::string_view host) noexcept;

// 1*DIGIT as an unsigned 64-bit value, or nullopt (sign, space, overflow).
std::optional<std::uint64_t> parse_decimal(std::string_view s) noexcept;

// The reason phrase of a status code ("Bad Request"), or an empty view for a code
// RFC 9110 does not name.
std::string_view reason_phrase(int status) noexcept;

// Hop-by-hop fields an application may not set (RFC 9110 §7.6.1, PEP 3333):
// connection, keep-alive, proxy-authenticate, proxy-authorization, te,
// trailer, transfer-encoding, upgrade.
bool is_hop_by_hop(std::string_view name) noexcept;

}  // namespace waitron::http
