#include "http/target.hpp"

namespace waitron::http {

namespace {

int hex(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

SplitTarget split_target(std::string_view target) noexcept {
  std::string_view rest = target;
  if (std::size_t hash = rest.find('#'); hash != std::string_view::npos)
    rest = rest.substr(0, hash);
  // absolute-form: skip "scheme://authority" (the head scanner vetted the scheme).
  if (!rest.empty() && rest[0] != '/' && rest != "*") {
    std::size_t sep = rest.find("://");
    if (sep != std::string_view::npos) {
      std::size_t path_start = rest.find_first_of("/?", sep + 3);
      rest = path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
    }
  }
  SplitTarget out;
  std::size_t q = rest.find('?');
  out.path = rest.substr(0, q);
  if (q != std::string_view::npos) out.query = rest.substr(q + 1);
  return out;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex(s[i + 1]);
      int lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace waitron::http
