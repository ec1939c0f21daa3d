#include "http/head_scanner.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "http/rfc9110.hpp"

namespace waitron::http {

namespace {

// Methods waitron serves: RFC 9110's (CONNECT excepted: waitron is not a
// tunnel) plus PATCH (RFC 5789) and WebDAV's, the set llhttp 8.1.0 parses for
// HTTP/1.x requests. Any other method is answered 501 (RFC 9110 §9.1).
bool is_known_method(std::string_view m) noexcept {
  static constexpr std::string_view kMethods[] = {
      "GET",        "HEAD",       "POST",  "PUT",      "DELETE", "OPTIONS",   "TRACE",
      "PATCH",      "COPY",       "LOCK",  "MKCOL",    "MOVE",   "PROPFIND",  "PROPPATCH",
      "SEARCH",     "UNLOCK",     "BIND",  "REBIND",   "UNBIND", "ACL",       "REPORT",
      "MKACTIVITY", "CHECKOUT",   "MERGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE",
      "PURGE",      "MKCALENDAR", "LINK",  "UNLINK",
  };
  for (std::string_view k : kMethods) {
    if (k == m) return true;
  }
  return false;
}

// Bytes a request line (kInLine bit) or a field line (kInField bit) may hold that need no
// decision of the scanner: everything but CR, LF and the other control bytes and DEL (HTAB
// is fine in a field line only). The scanner skips runs of them with one lookup each.
constexpr unsigned char kInLine = 1;
constexpr unsigned char kInField = 2;
constexpr std::array<unsigned char, 256> make_plain_table() {
  std::array<unsigned char, 256> t{};
  for (int c = 0x20; c < 0x100; ++c) {
    if (c != 0x7f) t[static_cast<std::size_t>(c)] = kInLine | kInField;
  }
  t['\t'] = kInField;
  return t;
}
constexpr std::array<unsigned char, 256> kPlain = make_plain_table();

// The first position from `pos` whose byte is not plain for `kind`, or `end`. Eight bytes
// at a time while none of them is a control byte or DEL (a browser's head is ~600 bytes of
// long runs); a word with one is left to the byte loop, which decides by the table (HTAB is
// plain in a field line).
std::size_t skip_plain(std::string_view head, std::size_t pos, std::size_t end,
                       unsigned char kind) noexcept {
  while (pos + 8 <= end) {
    std::uint64_t w;
    std::memcpy(&w, head.data() + pos, 8);
    if (has_byte_below(w, 0x20) || has_zero_byte(w ^ (kEachByte * 0x7f))) break;
    pos += 8;
  }
  while (pos < end && (kPlain[static_cast<unsigned char>(head[pos])] & kind) != 0) ++pos;
  return pos;
}

bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// absolute-form = absolute-URI (RFC 9112 §3.2.2): scheme ":" hier-part. waitron
// accepts "scheme://..." with scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
bool is_absolute_form(std::string_view t) noexcept {
  std::size_t sep = t.find("://");
  if (sep == std::string_view::npos || sep == 0 || !is_alpha(t[0])) return false;
  // RFC 9110 §4.2.1: an http(s) URI with an empty host is invalid.
  std::string_view rest = t.substr(sep + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  std::size_t at = authority.rfind('@');
  std::string_view host = at == std::string_view::npos ? authority : authority.substr(at + 1);
  if (host.empty() || host[0] == ':') return false;
  for (char c : t.substr(0, sep)) {
    if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

// field-line = field-name ":" OWS field-value OWS (RFC 9112 §5), with no whitespace
// between the name and the colon (RFC 9112 §5.1): the colon's position, or npos when the
// line has no colon or its name is not a token.
std::size_t field_name_end(std::string_view line) noexcept {
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
    return std::string_view::npos;
  }
  return colon;
}

}  // namespace

std::error_code parse_request_line(std::string_view line, RequestLine& out) noexcept {
  // request-line = method SP request-target SP HTTP-version (RFC 9112 §3):
  // exactly two single spaces, no other whitespace.
  std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return errc::invalid_request_line;
  std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return errc::invalid_request_line;
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method) || target.empty()) return errc::invalid_request_line;
  // Methods are case-sensitive (RFC 9110 §9.1); waitress answers a lower-case
  // one with 400 "Malformed HTTP method", and so does waitron.
  for (char c : method) {
    if (c >= 'a' && c <= 'z') return errc::malformed_method;
  }
  // HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3).
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      !(version[5] >= '0' && version[5] <= '9') || !(version[7] >= '0' && version[7] <= '9')) {
    return errc::invalid_request_line;
  }
  // request-target bytes are visible ASCII (RFC 9112 §3.2, RFC 3986 §2).
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return errc::invalid_target;
  }
  // waitron speaks HTTP/1.0 and HTTP/1.1 only (RFC 9110 §15.6.6: 505).
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
    return errc::version_not_supported;
  }
  // From here on the version is known, and errors are answered in it.
  out.version_minor = version[7] - '0';
  if (!is_known_method(method)) return errc::method_not_implemented;
  // origin-form, absolute-form, or asterisk-form for OPTIONS (RFC 9112 §3.2).
  // authority-form belongs to CONNECT, which is not implemented.
  bool form_ok =
      target[0] == '/' || is_absolute_form(target) || (target == "*" && method == "OPTIONS");
  if (!form_ok) return errc::invalid_target;
  out.method = method;
  out.target = target;
  out.version_minor = version[7] - '0';
  return {};
}

std::error_code check_field_line(std::string_view line) noexcept {
  std::size_t colon = field_name_end(line);
  if (colon == std::string_view::npos) return errc::invalid_field_line;
  if (!is_field_value(trim_ows(line.substr(colon + 1)))) return errc::invalid_byte_in_head;
  return {};
}

HeadScanner::Status HeadScanner::fail(errc e) noexcept {
  error_ = e;
  return Status::failed;
}

HeadScanner::Status HeadScanner::scan(std::string_view head) noexcept {
  // Runs of plain bytes are skipped up to here: the byte at max_head_bytes_ - 1 is where
  // the size check below fails, so a skip never passes it.
  const std::size_t skip_end =
      max_head_bytes_ == 0
          ? 0
          : static_cast<std::size_t>(std::min<std::uint64_t>(head.size(), max_head_bytes_ - 1));
  while (pos_ < head.size()) {
    // RFC 9112 §2.3 leaves the limit to the server; waitress answers 431 once
    // max_request_header_size bytes have arrived without a complete head.
    if (pos_ + 1 >= max_head_bytes_) return fail(errc::head_too_large);
    auto c = static_cast<unsigned char>(head[pos_]);
    bool ctl = c < 0x20 || c == 0x7f;
    switch (state_) {
      case State::message_start:
        if (c == '\r') {
          state_ = State::message_start_lf;
        } else if (c == ' ' || c == '\t') {
          return fail(errc::leading_whitespace);
        } else if (c == '\n') {
          return fail(errc::bare_cr_or_lf);
        } else if (ctl) {
          return fail(errc::invalid_byte_in_head);
        } else {
          request_line_begin_ = line_begin_ = pos_;
          state_ = State::request_line;
        }
        break;
      case State::message_start_lf:
        if (c != '\n') return fail(errc::bare_cr_or_lf);
        state_ = State::message_start;
        break;
      case State::request_line:
        if ((kPlain[c] & kInLine) != 0) {
          pos_ = skip_plain(head, pos_ + 1, skip_end, kInLine);
          continue;
        }
        if (c == '\r') {
          state_ = State::request_line_lf;
        } else if (c == '\n') {
          return fail(errc::bare_cr_or_lf);
        } else if (c == '\t') {
          return fail(errc::invalid_request_line);
        } else if (ctl) {
          return fail(errc::invalid_byte_in_head);
        }
        break;
      case State::request_line_lf: {
        if (c != '\n') return fail(errc::bare_cr_or_lf);
        RequestLine rl;
        std::string_view line = head.substr(line_begin_, pos_ - 1 - line_begin_);
        if (auto ec = parse_request_line(line, rl)) {
          error_ = ec;
          version_minor_ = rl.version_minor;
          return Status::failed;
        }
        version_minor_ = rl.version_minor;
        state_ = State::line_start;
        break;
      }
      case State::line_start:
        if (c == '\r') {
          state_ = State::final_lf;
        } else if (c == ' ' || c == '\t') {
          return fail(errc::obs_fold);
        } else if (c == '\n') {
          return fail(errc::bare_cr_or_lf);
        } else if (ctl) {
          return fail(errc::invalid_byte_in_head);
        } else {
          line_begin_ = pos_;
          state_ = State::field_line;
        }
        break;
      case State::field_line:
        if ((kPlain[c] & kInField) != 0) {
          pos_ = skip_plain(head, pos_ + 1, skip_end, kInField);
          continue;
        }
        if (c == '\r') {
          state_ = State::field_line_lf;
        } else if (c == '\n') {
          return fail(errc::bare_cr_or_lf);
        } else if (ctl && c != '\t') {
          return fail(errc::invalid_byte_in_head);
        }
        break;
      case State::field_line_lf: {
        if (c != '\n') return fail(errc::bare_cr_or_lf);
        // The line's bytes were checked as they were read (field-vchars, SP, HTAB): only
        // the name is left to check_field_line's rules.
        if (field_name_end(head.substr(line_begin_, pos_ - 1 - line_begin_)) ==
            std::string_view::npos) {
          return fail(errc::invalid_field_line);
        }
        state_ = State::line_start;
        break;
      }
      case State::final_lf:
        if (c != '\n') return fail(errc::bare_cr_or_lf);
        ++pos_;
        return Status::complete;
    }
    ++pos_;
  }
  return Status::need_more;
}

}  // namespace waitron::http
