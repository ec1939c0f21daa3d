// IMF-fixdate formatting: see http_date.hpp.
#include "core/http_date.hpp"

#include <time.h>

namespace waitron::core {
namespace {

constexpr std::string_view kDays = "SunMonTueWedThuFriSat";
constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";

// Writes `value` as `width` decimal digits, zero-padded, at `out`.
char* put_digits(char* out, int value, int width) noexcept {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out + width;
}

char* put_name(char* out, std::string_view names, int index) noexcept {
  const std::string_view name = names.substr(static_cast<std::size_t>(index) * 3, 3);
  for (char c : name) *out++ = c;
  return out;
}

// Fills `out` with the IMF-fixdate of t. False if gmtime_r fails or the year
// does not have four digits.
bool format_into(std::time_t t, std::array<char, kHttpDateLength>& out) noexcept {
  struct tm tm {};
  if (::gmtime_r(&t, &tm) == nullptr) return false;
  // tm_year counts from 1900; compared before adding so nothing overflows.
  if (tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) return false;
  char* p = out.data();
  p = put_name(p, kDays, tm.tm_wday);
  *p++ = ',';
  *p++ = ' ';
  p = put_digits(p, tm.tm_mday, 2);
  *p++ = ' ';
  p = put_name(p, kMonths, tm.tm_mon);
  *p++ = ' ';
  p = put_digits(p, tm.tm_year + 1900, 4);
  *p++ = ' ';
  p = put_digits(p, tm.tm_hour, 2);
  *p++ = ':';
  p = put_digits(p, tm.tm_min, 2);
  *p++ = ':';
  p = put_digits(p, tm.tm_sec, 2);
  for (char c : std::string_view(" GMT")) *p++ = c;
  return true;
}

}  // namespace

std::string format_http_date(std::time_t t) {
  std::array<char, kHttpDateLength> text{};
  if (!format_into(t, text)) return {};
  return std::string(text.data(), text.size());
}

std::string_view HttpDateCache::get(std::time_t now) noexcept {
  if (!valid_ || now != second_) {
    length_ = format_into(now, text_) ? text_.size() : 0;
    second_ = now;
    valid_ = true;
    ++formats_;
  }
  return {text_.data(), length_};
}

}  // namespace waitron::core
