#include <doctest/doctest.h>

#include <string>

#include "http/rfc9110.hpp"

using namespace waitron::http;

TEST_CASE("tchar and token") {
  CHECK(is_token("GET"));
  CHECK(is_token("X-Custom_Header!#$%&'*+.^`|~"));
  CHECK_FALSE(is_token(""));
  CHECK_FALSE(is_token("a b"));
  CHECK_FALSE(is_token("a:b"));
  CHECK_FALSE(is_token("a\"b"));
  CHECK_FALSE(is_token("caf\xc3\xa9"));
  CHECK_FALSE(is_tchar(0x7f));
}

TEST_CASE("field values allow obs-text and inner whitespace, not control bytes") {
  CHECK(is_field_value("a b\tc"));
  CHECK(is_field_value("\xa0x\x85"));
  CHECK(is_field_value(""));
  CHECK_FALSE(is_field_value("a\x01"));
  CHECK_FALSE(is_field_value("a\x7f"));
  CHECK_FALSE(is_field_value("a\rb"));
}

TEST_CASE("trim_ows removes SP and HTAB only") {
  CHECK(trim_ows(" \t a b \t") == "a b");
  CHECK(trim_ows("\xa0x\xa0") == "\xa0x\xa0");
  CHECK(trim_ows("   ").empty());
}

TEST_CASE("token lists") {
  CHECK(list_contains_token("close", "close"));
  CHECK(list_contains_token("Keep-Alive, Upgrade", "keep-alive"));
  CHECK(list_contains_token("foo ,\tCLOSE ", "close"));
  CHECK(list_contains_token(",,close,", "close"));
  CHECK_FALSE(list_contains_token("closed", "close"));
  CHECK_FALSE(list_contains_token("", "close"));
}

TEST_CASE("Host values") {
  for (const char* ok :
       {"", "example.com", "example.com:80", "example.com:", "127.0.0.1:8080", "[::1]", "[::1]:443",
        "[fe80::1%25eth0]", "[v1.fe]", "a%20b", "x-y_z~.!$"}) {
    CHECK_MESSAGE(is_valid_host(ok), ok);
  }
  for (const char* bad : {"a b", "a/b", "user@host", "host:abc", "[::1", "[::1]x", "[]", "a%2",
                          "a%zz", "[::1]:8a", "ex\"ample", "host:80:80"}) {
    CHECK_MESSAGE(!is_valid_host(bad), bad);
  }
}

TEST_CASE("a reg-name Host takes unreserved and sub-delims bytes, every other byte is refused") {
  // RFC 3986 §2.2, §2.3, spelled out here as the oracle of the lookup table.
  const std::string_view allowed =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=";
  for (int c = 0; c < 256; ++c) {
    if (c == '%' || c == ':' || c == '[') continue;  // pct-encoding, the port, IP-literal
    std::string host = "a";
    host += static_cast<char>(c);
    host += "b";
    const bool want = allowed.find(static_cast<char>(c)) != std::string_view::npos;
    CHECK_MESSAGE(is_valid_host(host) == want, c);
  }
}

TEST_CASE("has_cr_or_lf finds a CR or LF at every place of a word and of the tail") {
  // 27 bytes: three 8-byte words and a tail of three. 0x8A and 0x8D are CR and LF with the
  // high bit set, 0x0C and 0x0E their neighbours: none of them is a CR or LF.
  for (std::size_t at = 0; at < 27; ++at) {
    for (char c : {'\r', '\n', '\x8a', '\x8d', '\x0c', '\x0e', '\0'}) {
      std::string s(27, 'x');
      s[at] = c;
      CAPTURE(at);
      CAPTURE(static_cast<int>(static_cast<unsigned char>(c)));
      CHECK(has_cr_or_lf(s) == (c == '\r' || c == '\n'));
    }
  }
  CHECK_FALSE(has_cr_or_lf(""));
}

TEST_CASE("parse_decimal is 1*DIGIT within 64 bits") {
  CHECK(parse_decimal("0") == 0u);
  CHECK(parse_decimal("0012") == 12u);
  CHECK(parse_decimal("18446744073709551615") == 18446744073709551615ull);
  CHECK_FALSE(parse_decimal("18446744073709551616"));
  CHECK_FALSE(parse_decimal(""));
  CHECK_FALSE(parse_decimal("+1"));
  CHECK_FALSE(parse_decimal("-1"));
  CHECK_FALSE(parse_decimal("1 "));
  CHECK_FALSE(parse_decimal("0x10"));
}

TEST_CASE("reason phrases and hop-by-hop fields") {
  CHECK(reason_phrase(400) == "Bad Request");
  CHECK(reason_phrase(413) == "Request Entity Too Large");
  CHECK(reason_phrase(505) == "HTTP Version Not Supported");
  CHECK(reason_phrase(299).empty());
  CHECK(reason_phrase(503) == "Service Unavailable");
  for (const char* h : {"Connection", "keep-alive", "Proxy-Authenticate", "proxy-authorization",
                        "TE", "Trailer", "Transfer-Encoding", "upgrade"}) {
    CHECK_MESSAGE(is_hop_by_hop(h), h);
  }
  CHECK_FALSE(is_hop_by_hop("Content-Length"));
  CHECK_FALSE(is_hop_by_hop("Trailers"));
  // Names of a hop-by-hop field's length that are not one.
  for (const char* h :
       {"", "t", "tf", "Trailed", "Upgrado", "Connectiom", "Keep-Alivf", "transfer-encodinf",
        "Proxy-Authenticatf", "Proxy-Authorizatiom", "Keep-Alive-Extension"}) {
    CHECK_FALSE_MESSAGE(is_hop_by_hop(h), h);
  }
}
