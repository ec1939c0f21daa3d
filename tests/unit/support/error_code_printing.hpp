// Test support: lets doctest print std::error_code values in failed checks
// ("waitron:5 (Bad URI)").
#pragma once

#include <doctest/doctest.h>

#include <ostream>
#include <string>
#include <system_error>

namespace doctest {
template <>
struct StringMaker<std::error_code> {
  static String convert(const std::error_code& ec) {
    std::string s = std::string(ec.category().name()) + ":" + std::to_string(ec.value()) + " (" +
                    ec.message() + ")";
    return String(s.c_str());
  }
};
}  // namespace doctest
