#include "http/rfc9110.hpp"

#include <array>
#include <cstring>
#include <limits>

namespace waitron::http {

namespace {

constexpr std::array<bool, 256> make_tchar_table() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kTchar = make_tchar_table();

constexpr bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
constexpr bool is_hexdig(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr bool is_unreserved(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}
constexpr bool is_sub_delim(char c) noexcept {
  return std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos;
}

// unreserved / sub-delims (RFC 3986 §2.2, §2.3), one lookup per byte of a Host.
constexpr std::array<bool, 256> make_reg_name_table() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    auto ch = static_cast<char>(c);
    t[static_cast<std::size_t>(c)] = is_unreserved(ch) || is_sub_delim(ch);
  }
  return t;
}
constexpr std::array<bool, 256> kRegName = make_reg_name_table();

// reg-name = *( unreserved / pct-encoded / sub-delims ) (RFC 3986 §3.2.2); an
// IPv4 address is a reg-name syntactically.
bool is_reg_name(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (kRegName[static_cast<unsigned char>(c)]) continue;
    if (c != '%' || i + 2 >= s.size() || !is_hexdig(s[i + 1]) || !is_hexdig(s[i + 2])) {
      return false;
    }
    i += 2;
  }
  return true;
}

// IP-literal = "[" ( IPv6address / IPvFuture ) "]" (RFC 3986 §3.2.2). The
// check is by character class: hex digits, ':' and '.' for IPv6 (with an
// optional "%25" zone, RFC 6874), "v" HEXDIG "." ... for IPvFuture.
bool is_ip_literal_body(std::string_view s) noexcept {
  if (s.empty()) return false;
  if (s[0] == 'v' || s[0] == 'V') {
    std::size_t i = 1;
    while (i < s.size() && is_hexdig(s[i])) ++i;
    if (i == 1 || i >= s.size() || s[i] != '.' || i + 1 >= s.size()) return false;
    for (++i; i < s.size(); ++i) {
      if (!is_unreserved(s[i]) && !is_sub_delim(s[i]) && s[i] != ':') return false;
    }
    return true;
  }
  std::size_t zone = s.find("%25");
  std::string_view addr = s.substr(0, zone);
  if (addr.find(':') == std::string_view::npos) return false;
  for (char c : addr) {
    if (!is_hexdig(c) && c != ':' && c != '.') return false;
  }
  if (zone != std::string_view::npos) {
    std::string_view z = s.substr(zone + 3);
    if (z.empty() || !is_reg_name(z)) return false;
  }
  return true;
}

}  // namespace

bool is_tchar(unsigned char c) noexcept {
  return kTchar[c];
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    if (!kTchar[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

bool is_field_value(std::string_view s) noexcept {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (!is_field_vchar(u) && u != ' ' && u != '\t') return false;
  }
  return true;
}

bool has_cr_or_lf(std::string_view s) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if (has_zero_byte(w ^ (kEachByte * '\r')) || has_zero_byte(w ^ (kEachByte * '\n'))) {
      return true;
    }
  }
  for (; i < s.size(); ++i) {
    if (s[i] == '\r' || s[i] == '\n') return true;
  }
  return false;
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool list_contains_token(std::string_view list, std::string_view token) noexcept {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    if (iequals(trim_ows(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool is_valid_host(std::string_view host) noexcept {
  if (host.empty()) return true;
  std::string_view port;
  if (host.front() == '[') {
    std::size_t close = host.find(']');
    if (close == std::string_view::npos || !is_ip_literal_body(host.substr(1, close - 1))) {
      return false;
    }
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
    }
  } else {
    std::size_t colon = host.rfind(':');
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
    }
    if (!is_reg_name(host)) return false;
    // RFC 9110 §4.2.1: an empty host is allowed only as an empty field value.
    if (host.empty()) return false;
  }
  for (char c : port) {
    if (!is_digit(c)) return false;
  }
  return true;
}

std::optional<std::uint64_t> parse_decimal(std::string_view s) noexcept {
  if (s.empty()) return std::nullopt;
  std::uint64_t value = 0;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (kMax - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::string_view reason_phrase(int status) noexcept {
  // RFC 9110 §15, except 413, which waitress words as RFC 7231 did (RFC 9110 renamed it
  // "Content Too Large").
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Request Entity Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Content";
    case 425:
      return "Too Early";
    case 426:
      return "Upgrade Required";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 451:
      return "Unavailable For Legal Reasons";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return {};
  }
}

bool is_hop_by_hop(std::string_view name) noexcept {
  // By length first: every response field is checked, and few have a hop-by-hop length.
  switch (name.size()) {
    case 2:
      return iequals(name, "te");
    case 7:
      return iequals(name, "trailer") || iequals(name, "upgrade");
    case 10:
      return iequals(name, "connection") || iequals(name, "keep-alive");
    case 17:
      return iequals(name, "transfer-encoding");
    case 18:
      return iequals(name, "proxy-authenticate");
    case 19:
      return iequals(name, "proxy-authorization");
    default:
      return false;
  }
}

}  // namespace waitron::http
