// HTTP dates (the Date header; waitress utilities.build_http_date).
//
// The only format produced is IMF-fixdate, RFC 9110 §5.6.7:
//
//   Sun, 06 Nov 1994 08:49:37 GMT
//
// always 29 characters, in UTC, with fixed English day and month names
// whatever the process locale.
//
// Threads: format_http_date() may be called from any thread (it uses
// gmtime_r). An HttpDateCache is not synchronised; give each thread its own
// (in practice the loop thread owns one).
#pragma once

#include <array>
#include <cstddef>
#include <ctime>
#include <string>
#include <string_view>

namespace waitron::core {

// The length of every IMF-fixdate.
inline constexpr std::size_t kHttpDateLength = 29;

// Formats `t` (seconds since the epoch) as an IMF-fixdate. Returns an empty
// string if the year falls outside 0..9999, which the format cannot express.
[[nodiscard]] std::string format_http_date(std::time_t t);

// Remembers the last formatted second, so that a server answering many
// requests per second formats the date once per second.
class HttpDateCache {
 public:
  // The IMF-fixdate of `now`, reformatted only when `now` differs from the
  // previous call. The view stays valid until the next call or the cache's
  // destruction. Empty if `now` cannot be formatted (see format_http_date).
  [[nodiscard]] std::string_view get(std::time_t now) noexcept;

  // How many times get() had to format (for tests and statistics).
  [[nodiscard]] std::size_t formats() const noexcept { return formats_; }

 private:
  std::array<char, kHttpDateLength> text_{};
  std::size_t length_ = 0;
  std::time_t second_ = 0;
  bool valid_ = false;
  std::size_t formats_ = 0;
};

}  // namespace waitron::core
