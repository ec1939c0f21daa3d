#include <doctest/doctest.h>

#include "http/target.hpp"

using namespace waitron::http;

TEST_CASE("split_target as waitress's split_uri") {
  auto t = split_target("/a/b?x=1&y=%20#frag");
  CHECK(t.path == "/a/b");
  CHECK(t.query == "x=1&y=%20");
  t = split_target("http://host:81/p/q?z#f");
  CHECK(t.path == "/p/q");
  CHECK(t.query == "z");
  t = split_target("http://host:81?only");
  CHECK(t.path.empty());
  CHECK(t.query == "only");
  t = split_target("//foo/bar");
  CHECK(t.path == "//foo/bar");
  CHECK(split_target("*").path == "*");
  CHECK(split_target("/p?").query.empty());
}

TEST_CASE("percent_decode decodes valid escapes and keeps the rest") {
  CHECK(percent_decode("/a%20b%2Fc") == "/a b/c");
  CHECK(percent_decode("%zz%4") == "%zz%4");
  CHECK(percent_decode("%e9") == "\xe9");
  CHECK(percent_decode("100%") == "100%");
  CHECK(percent_decode("%41%") == "A%");
}
