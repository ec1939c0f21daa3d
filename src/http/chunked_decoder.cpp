#include "http/chunked_decoder.hpp"

#include <algorithm>

#include "http/head_scanner.hpp"
#include "http/rfc9110.hpp"
#include "waitron/error.hpp"

namespace waitron::http {

namespace {

// A chunk size is at most 16 significant hex digits; leading zeros are allowed, up to
// this many digits in all, so that a size line cannot grow without bound.
constexpr int kMaxSizeDigits = 32;

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE (RFC 9110 §5.6.4).
// Returns the length of the quoted string at the start of s, or 0.
std::size_t quoted_string_length(std::string_view s) noexcept {
  if (s.empty() || s[0] != '"') return 0;
  for (std::size_t i = 1; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"') return i + 1;
    if (c == '\\') {
      if (++i >= s.size()) return 0;
      c = static_cast<unsigned char>(s[i]);
      if (c != '\t' && c != ' ' && !is_field_vchar(c)) return 0;
    } else if (c != '\t' && c != ' ' && !is_field_vchar(c)) {
      return 0;
    }
  }
  return 0;
}

std::size_t token_length(std::string_view s) noexcept {
  std::size_t n = 0;
  while (n < s.size() && is_tchar(static_cast<unsigned char>(s[n]))) ++n;
  return n;
}

}  // namespace

bool is_valid_chunk_extension(std::string_view ext) noexcept {
  while (!ext.empty()) {
    if (ext[0] != ';') return false;
    ext.remove_prefix(1);
    std::size_t name = token_length(ext);
    if (name == 0) return false;
    ext.remove_prefix(name);
    if (!ext.empty() && ext[0] == '=') {
      ext.remove_prefix(1);
      std::size_t value =
          !ext.empty() && ext[0] == '"' ? quoted_string_length(ext) : token_length(ext);
      if (value == 0) return false;
      ext.remove_prefix(value);
    }
  }
  return true;
}

ChunkedDecoder::Status ChunkedDecoder::fail(std::error_code ec) noexcept {
  error_ = ec;
  return Status::failed;
}

ChunkedDecoder::Status ChunkedDecoder::finish_size_line() noexcept {
  if (!is_valid_chunk_extension(line_)) return fail(errc::invalid_chunk_extension);
  line_.clear();
  // The whole chunk is judged before any of it is stored:
  // wire_bytes_ + chunk_size_ >= max, written so that it cannot overflow.
  if (chunk_size_ == 0) {
    if (wire_bytes_ >= limits_.max_body_bytes) return fail(errc::body_too_large);
    state_ = State::trailer_start;
    return Status::need_more;
  }
  if (wire_bytes_ >= limits_.max_body_bytes ||
      chunk_size_ >= limits_.max_body_bytes - wire_bytes_) {
    return fail(errc::body_too_large);
  }
  remaining_ = chunk_size_;
  state_ = State::data;
  return Status::need_more;
}

ChunkedDecoder::Status ChunkedDecoder::decode(std::string_view in, std::size_t& consumed,
                                              core::Buffer& body) {
  std::size_t i = 0;
  auto result = [&](Status s) {
    consumed = i;
    return s;
  };
  while (i < in.size()) {
    if (state_ == State::done) break;
    if (state_ == State::data) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size() - i));
      if (auto ec = body.append(in.substr(i, n))) return result(fail(errc::body_buffer_failed));
      i += n;
      wire_bytes_ += n;
      remaining_ -= n;
      if (remaining_ == 0) state_ = State::data_cr;
      continue;
    }
    char c = in[i++];
    // Framing bytes count toward the body limit, judged at each chunk header
    // (the last one included); what they can add in between is bounded by the
    // caps on size digits and extensions. Trailer bytes have their own cap.
    ++wire_bytes_;
    bool in_trailer = state_ == State::trailer_start || state_ == State::trailer_line ||
                      state_ == State::trailer_lf || state_ == State::final_lf;
    if (in_trailer && ++trailer_bytes_ >= limits_.max_trailer_bytes) {
      return result(fail(errc::trailer_too_large));
    }
    switch (state_) {
      case State::size: {
        int v = hex_value(c);
        if (v >= 0) {
          // Leading zeros are allowed; a size past 64 bits is an error.
          if ((chunk_size_ >> 60) != 0 || ++size_digits_ > kMaxSizeDigits) {
            return result(fail(errc::invalid_chunk_size));
          }
          chunk_size_ = chunk_size_ * 16 + static_cast<std::uint64_t>(v);
        } else if (size_digits_ == 0) {
          return result(fail(errc::invalid_chunk_size));  // chunk-size = 1*HEXDIG
        } else if (c == ';') {
          line_.assign(1, ';');
          state_ = State::extension;
        } else if (c == '\r') {
          line_.clear();
          state_ = State::size_lf;
        } else {
          return result(fail(errc::invalid_chunk_size));
        }
        break;
      }
      case State::extension:
        if (c == '\r') {
          state_ = State::size_lf;
        } else if (line_.size() >= limits_.max_extension_bytes) {
          return result(fail(errc::chunk_extension_too_long));
        } else {
          line_.push_back(c);
        }
        break;
      case State::size_lf:
        if (c != '\n') return result(fail(errc::invalid_chunk_size));
        if (finish_size_line() == Status::failed) return result(Status::failed);
        break;
      case State::data_cr:
        if (c != '\r') return result(fail(errc::chunk_not_terminated));
        state_ = State::data_lf;
        break;
      case State::data_lf:
        if (c != '\n') return result(fail(errc::chunk_not_terminated));
        chunk_size_ = 0;
        size_digits_ = 0;
        state_ = State::size;
        break;
      case State::trailer_start:
        if (c == '\r') {
          state_ = State::final_lf;
          break;
        }
        state_ = State::trailer_line;
        [[fallthrough]];
      case State::trailer_line:
        if (c == '\r') {
          state_ = State::trailer_lf;
        } else if (c == '\n') {
          return result(fail(errc::invalid_trailer));
        } else {
          line_.push_back(c);
        }
        break;
      case State::trailer_lf:
        if (c != '\n' || check_field_line(line_)) return result(fail(errc::invalid_trailer));
        line_.clear();
        state_ = State::trailer_start;
        break;
      case State::final_lf:
        if (c != '\n') return result(fail(errc::invalid_trailer));
        state_ = State::done;
        return result(Status::complete);
      case State::data:
      case State::done:
        break;
    }
  }
  return result(state_ == State::done ? Status::complete : Status::need_more);
}

}  // namespace waitron::http
