// IMF-fixdate formatting (RFC 9110 §5.6.7) and the per-second cache.
#include "core/http_date.hpp"

#include <doctest/doctest.h>

#include <clocale>
#include <ctime>
#include <string>

namespace waitron::core {
namespace {

TEST_CASE("http_date: known timestamps") {
  CHECK(format_http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK(format_http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");  // RFC 9110's example.
  CHECK(format_http_date(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");  // Leap day.
  CHECK(format_http_date(1700000000) == "Tue, 14 Nov 2023 22:13:20 GMT");
  CHECK(format_http_date(2147483647) == "Tue, 19 Jan 2038 03:14:07 GMT");
  CHECK(format_http_date(4102444799) == "Thu, 31 Dec 2099 23:59:59 GMT");
  CHECK(format_http_date(253402300799) == "Fri, 31 Dec 9999 23:59:59 GMT");
}

TEST_CASE("http_date: every day and month name, always 29 characters") {
  const char* days[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  for (int d = 0; d < 7; ++d) {
    const std::string text = format_http_date(static_cast<std::time_t>(d) * 86400);
    CHECK(text.size() == kHttpDateLength);
    CHECK(text.substr(0, 3) == days[d]);
  }
  // The first day of each month of 2021 (not a leap year).
  const std::time_t firsts[] = {1609459200, 1612137600, 1614556800, 1617235200,
                                1619827200, 1622505600, 1625097600, 1627776000,
                                1630454400, 1633046400, 1635724800, 1638316800};
  const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int m = 0; m < 12; ++m) {
    CHECK(format_http_date(firsts[m]).substr(5, 11) == std::string("01 ") + months[m] + " 2021");
  }
}

TEST_CASE("http_date: years the format cannot hold give an empty string") {
  CHECK(format_http_date(253402300800).empty());  // Year 10000.
  CHECK(format_http_date(-62167219201).empty());  // Year -1.
  CHECK(format_http_date(-62167219200) == "Sat, 01 Jan 0000 00:00:00 GMT");
}

TEST_CASE("http_date: the process locale does not matter") {
  // Most test machines have only "C" and "C.UTF-8"; the output must not
  // change either way, and no locale function is used to produce it.
  const char* previous = std::setlocale(LC_TIME, nullptr);
  const std::string saved = previous ? previous : "C";
  std::setlocale(LC_TIME, "C.UTF-8");
  CHECK(format_http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
  std::setlocale(LC_TIME, saved.c_str());
}

TEST_CASE("http_date: the cache formats once per second") {
  HttpDateCache cache;
  CHECK(cache.formats() == 0);
  CHECK(cache.get(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(cache.get(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(cache.formats() == 1);
  CHECK(cache.get(784111778) == "Sun, 06 Nov 1994 08:49:38 GMT");
  CHECK(cache.formats() == 2);
  CHECK(cache.get(0) == "Thu, 01 Jan 1970 00:00:00 GMT");  // Time may go backwards.
  CHECK(cache.formats() == 3);
  CHECK(cache.get(253402300800).empty());
  CHECK(cache.get(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK(cache.formats() == 5);
}

TEST_CASE("http_date: the cache's first call formats even for time 0") {
  HttpDateCache cache;
  CHECK(cache.get(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK(cache.formats() == 1);
}

}  // namespace
}  // namespace waitron::core
