#include <doctest/doctest.h>

#include "support/error_code_printing.hpp"

#include <string>

#include "http/head_scanner.hpp"

using namespace waitron;
using namespace waitron::http;

namespace {

struct Scan {
  HeadScanner::Status status;
  std::error_code error;
  std::size_t end;
};

Scan scan_all(std::string_view head, std::uint64_t limit = 1024) {
  HeadScanner s(limit);
  auto st = s.scan(head);
  return {st, s.error(), s.head_end()};
}

// Requires two scanners of the same head to have ended alike (status, error, end).
void require_alike(HeadScanner::Status status, const HeadScanner& scanner,
                   HeadScanner::Status expected, const HeadScanner& reference) {
  REQUIRE(status == expected);
  REQUIRE(scanner.error() == reference.error());
  REQUIRE(scanner.scanned() == reference.scanned());
}

}  // namespace

TEST_CASE("a complete head ends after the empty line") {
  std::string_view h = "GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
  auto r = scan_all(h);
  CHECK(r.status == HeadScanner::Status::complete);
  CHECK(r.end == h.find("BODY"));
}

TEST_CASE("scanning resumes where it stopped, byte by byte") {
  std::string h = "\r\n\r\nPOST /x HTTP/1.0\r\nA: b\r\n\r\n";
  HeadScanner s(1024);
  std::string so_far;
  for (std::size_t i = 0; i < h.size(); ++i) {
    so_far += h[i];
    auto st = s.scan(so_far);
    if (i + 1 < h.size())
      REQUIRE(st == HeadScanner::Status::need_more);
    else
      CHECK(st == HeadScanner::Status::complete);
  }
  CHECK(s.request_line_begin() == 4);
  CHECK(s.version_minor() == 0);
}

TEST_CASE("byte-level errors") {
  CHECK(scan_all("GET / HTTP/1.1\nHost: a\r\n\r\n").error == errc::bare_cr_or_lf);
  CHECK(scan_all("GET / HTTP/1.1\r\nHost: a\n\r\n").error == errc::bare_cr_or_lf);
  CHECK(scan_all("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n").error == errc::bare_cr_or_lf);
  CHECK(scan_all("GET / HTTP/1.1\r\n\r\r").error == errc::bare_cr_or_lf);
  CHECK(scan_all(std::string("GET / HTTP/1.1\r\nA: \0\r\n\r\n", 23)).error ==
        errc::invalid_byte_in_head);
  CHECK(scan_all("GET / HTTP/1.1\r\nA: \x7f\r\n\r\n").error == errc::invalid_byte_in_head);
  CHECK(scan_all("GET / HTTP/1.1\r\nA: \x0b\r\n\r\n").error == errc::invalid_byte_in_head);
  CHECK(scan_all(" GET / HTTP/1.1\r\n\r\n").error == errc::leading_whitespace);
  CHECK(scan_all("\r\n GET / HTTP/1.1\r\n\r\n").error == errc::leading_whitespace);
  CHECK(scan_all("\nGET / HTTP/1.1\r\n\r\n").error == errc::bare_cr_or_lf);
}

TEST_CASE("HTAB is allowed inside field values only") {
  CHECK(scan_all("GET / HTTP/1.1\r\nA:\tb\tc\t\r\n\r\n").status == HeadScanner::Status::complete);
  CHECK(scan_all("GET\t/ HTTP/1.1\r\n\r\n").error == errc::invalid_request_line);
}

TEST_CASE("obs-fold is refused, on the first field line too") {
  CHECK(scan_all("GET / HTTP/1.0\r\n Host: 0\r\n\r\n").error == errc::obs_fold);
  CHECK(scan_all("GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n").error == errc::obs_fold);
}

TEST_CASE("field line syntax") {
  CHECK(scan_all("GET / HTTP/1.1\r\nHost : a\r\n\r\n").error == errc::invalid_field_line);
  CHECK(scan_all("GET / HTTP/1.1\r\n: a\r\n\r\n").error == errc::invalid_field_line);
  CHECK(scan_all("GET / HTTP/1.1\r\nHost a\r\n\r\n").error == errc::invalid_field_line);
  CHECK(scan_all("GET / HTTP/1.1\r\nX\xe9: a\r\n\r\n").error == errc::invalid_field_line);
  CHECK(scan_all("GET / HTTP/1.1\r\nA:\r\n\r\n").status == HeadScanner::Status::complete);
  CHECK(check_field_line("A: \xa0 b") == std::error_code());
}

TEST_CASE("the request line") {
  RequestLine rl;
  CHECK(parse_request_line("GET /a?b HTTP/1.1", rl) == std::error_code());
  CHECK(rl.method == "GET");
  CHECK(rl.target == "/a?b");
  CHECK(rl.version_minor == 1);
  CHECK(parse_request_line("OPTIONS * HTTP/1.0", rl) == std::error_code());
  CHECK(parse_request_line("GET http://h:81/p?q HTTP/1.1", rl) == std::error_code());
  CHECK(parse_request_line("M-SEARCH * HTTP/1.1", rl) == errc::invalid_target);
  CHECK(parse_request_line("GET  / HTTP/1.1", rl) == errc::invalid_request_line);
  CHECK(parse_request_line("GET / HTTP/1.1 ", rl) == errc::invalid_request_line);
  CHECK(parse_request_line("GET /", rl) == errc::invalid_request_line);
  CHECK(parse_request_line("GET / http/1.1", rl) == errc::invalid_request_line);
  CHECK(parse_request_line("GET / HTTP/1", rl) == errc::invalid_request_line);
  CHECK(parse_request_line("GET / HTTP/10.1", rl) == errc::invalid_request_line);
  CHECK(parse_request_line("get / HTTP/1.1", rl) == errc::malformed_method);
  CHECK(parse_request_line("GET /\xa0 HTTP/1.1", rl) == errc::invalid_target);
  CHECK(parse_request_line("GET * HTTP/1.1", rl) == errc::invalid_target);
  CHECK(parse_request_line("GET foo HTTP/1.1", rl) == errc::invalid_target);
  CHECK(parse_request_line("GET / HTTP/1.2", rl) == errc::version_not_supported);
  CHECK(parse_request_line("GET / HTTP/2.0", rl) == errc::version_not_supported);
  CHECK(parse_request_line("GET / HTTP/0.9", rl) == errc::version_not_supported);
  CHECK(parse_request_line("FOO / HTTP/1.1", rl) == errc::method_not_implemented);
  CHECK(parse_request_line("CONNECT a:443 HTTP/1.1", rl) == errc::method_not_implemented);
  CHECK(parse_request_line("PRI * HTTP/2.0", rl) == errc::version_not_supported);
}

TEST_CASE("the head limit: max-1 bytes pass, max bytes fail, even when they complete it") {
  std::string base = "GET / HTTP/1.1\r\nA: ";
  std::string tail = "\r\n\r\n";
  std::string h1023 = base + std::string(1023 - base.size() - tail.size(), 'x') + tail;
  REQUIRE(h1023.size() == 1023);
  CHECK(scan_all(h1023).status == HeadScanner::Status::complete);
  std::string h1024 = base + std::string(1024 - base.size() - tail.size(), 'x') + tail;
  CHECK(scan_all(h1024).error == errc::head_too_large);
  // Leading empty lines count.
  CHECK(scan_all("\r\n" + h1023).error == errc::head_too_large);
  // An endless head fails at the limit, not later.
  HeadScanner s(1024);
  std::string endless = "GET / HTTP/1.1\r\nA: " + std::string(5000, 'x');
  CHECK(s.scan(endless) == HeadScanner::Status::failed);
  CHECK(s.scanned() == 1023);
}

TEST_CASE("an endless request line fails at the limit too") {
  HeadScanner s(1024);
  std::string endless = "GET /" + std::string(5000, 'a');
  CHECK(s.scan(endless) == HeadScanner::Status::failed);
  CHECK(s.error() == errc::head_too_large);
  CHECK(s.scanned() == 1023);
  HeadScanner small(3);
  CHECK(small.scan("GET / HTTP/1.1\r\n\r\n") == HeadScanner::Status::failed);
  CHECK(small.scanned() == 2);
}

TEST_CASE("runs of plain bytes are skipped alike whole, split anywhere, and at the limit") {
  // Each head scanned whole, then split at every byte: the same status, error and end.
  // Limits put the size check inside a run of plain bytes and right at its end.
  const std::string heads[] = {
      "GET /abc?d=e HTTP/1.1\r\nHost: a.b\r\nX-Long: " + std::string(200, 'v') + "\r\n\r\n",
      "GET /p HTTP/1.1\r\nA:\tb\tc\r\n\r\n",
      "GET /p\tq HTTP/1.1\r\n\r\n",
      "GET /p HTTP/1.1\r\nA: b\x01c\r\n\r\n",
      "GET /p HTTP/1.1\r\nA: b\x7f\r\n\r\n",
      "GET /p HTTP/1.1\r\nA: b\rc\r\n\r\n",
      "GET /p HTTP/1.1\nA: b\r\n\r\n",
      "GET /\xff HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nA: \xff\xfe\r\n\r\n",
  };
  for (const std::string& h : heads) {
    for (std::uint64_t limit : {std::uint64_t{1024}, std::uint64_t{10}, std::uint64_t{25},
                                std::uint64_t{h.size()}, std::uint64_t{h.size() + 1}}) {
      HeadScanner whole(limit);
      auto expected = whole.scan(h);
      for (std::size_t split = 1; split < h.size(); ++split) {
        HeadScanner s(limit);
        auto st = s.scan(std::string_view(h).substr(0, split));
        if (st == HeadScanner::Status::need_more) st = s.scan(h);
        CAPTURE(h);
        CAPTURE(limit);
        CAPTURE(split);
        require_alike(st, s, expected, whole);
      }
    }
  }
  // What the table holds: HTAB only in field lines, 0x80-0xFF in both.
  CHECK(scan_all("GET / HTTP/1.1\r\nA:\tb\r\n\r\n").status == HeadScanner::Status::complete);
  CHECK(scan_all("GET /\t HTTP/1.1\r\n\r\n").error == errc::invalid_request_line);
  CHECK(scan_all("GET / HTTP/1.1\r\nA: \x80\r\n\r\n").status == HeadScanner::Status::complete);
}

TEST_CASE("every byte value at every place of a word, whole and fed byte by byte, alike") {
  // Fed one byte at a time, each scan sees a run shorter than a word, so runs are skipped
  // byte by byte: the whole scans (eight bytes at a time) must end the same way, in the
  // request line and in a field line.
  for (int b = 0; b < 256; ++b) {
    for (std::size_t pad = 0; pad < 18; ++pad) {
      const std::string run = std::string(pad, 'a') + static_cast<char>(b) + std::string(9, 'z');
      for (const std::string& head :
           {"GET /" + run + " HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nX: " + run + "\r\n\r\n"}) {
        HeadScanner whole(1024);
        const auto expected = whole.scan(head);
        HeadScanner bytewise(1024);
        auto st = HeadScanner::Status::need_more;
        for (std::size_t n = 1; n <= head.size() && st == HeadScanner::Status::need_more; ++n) {
          st = bytewise.scan(std::string_view(head).substr(0, n));
        }
        CAPTURE(b);
        CAPTURE(pad);
        CAPTURE(head);
        require_alike(st, bytewise, expected, whole);
      }
    }
  }
}

TEST_CASE("every byte value inside a long run of a field value, checked against RFC 9110") {
  // An oracle independent of the scanner's table: field-vchar, SP and HTAB pass; CR and LF
  // alone are bare line ends; every other control byte and DEL is refused. The byte sits
  // behind 0 to 17 or 30 plain bytes: at every place of an 8-byte word the run is skipped
  // by, so a run skipped too far would pass over it.
  for (int b = 0; b < 256; ++b) {
    for (std::size_t pad : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 30}) {
      const auto c = static_cast<unsigned char>(b);
      std::string head = "GET / HTTP/1.1\r\nX: " + std::string(pad, 'v');
      head += static_cast<char>(c);
      head += "w" + std::string(9, 'z') + "\r\n\r\n";
      CAPTURE(b);
      CAPTURE(pad);
      for (std::uint64_t limit : {std::uint64_t{1024}, std::uint64_t{0}, std::uint64_t{1}}) {
        CAPTURE(limit);
        Scan r = scan_all(head, limit);
        if (limit <= 1) {  // no head fits: refused at its first byte, whatever follows
          CHECK(r.error == errc::head_too_large);
          CHECK(r.end == 0);
          continue;
        }
        if (c == '\r' || c == '\n') {
          CHECK(r.error == errc::bare_cr_or_lf);
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
          CHECK(r.error == errc::invalid_byte_in_head);
        } else {
          CHECK(r.status == HeadScanner::Status::complete);
          CHECK(r.end == head.size());
        }
      }
    }
  }
}
