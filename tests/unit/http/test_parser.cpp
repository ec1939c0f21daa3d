#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "http/parser.hpp"
#include "support/connection_driver.hpp"
#include "support/error_code_printing.hpp"

using namespace waitron;
using namespace waitron::http;

namespace {

ParserLimits limits(std::uint64_t head = 1024, std::uint64_t body = 1024,
                    std::uint64_t overflow = 64) {
  ParserLimits l;
  l.max_head_bytes = head;
  l.max_body_bytes = body;
  l.inbuf_overflow = overflow;
  const char* d = std::getenv("WAITRON_TEST_TMPDIR");
  l.temp_dir = d ? d : "";
  return l;
}

// Feeds `in` until a message completes or fails; returns the last event.
Parser::Event feed_all(Parser& p, std::string_view& in) {
  for (;;) {
    std::size_t consumed = 0;
    auto ev = p.feed(in, consumed);
    in.remove_prefix(consumed);
    if (ev == Parser::Event::head_complete) continue;
    return ev;
  }
}

std::error_code error_of(std::string_view in, ParserLimits l = limits()) {
  Parser p(l);
  feed_all(p, in);
  return p.error();
}

}  // namespace

TEST_CASE("events: head_complete once, then message_complete, stopping at the message end") {
  Parser p(limits());
  std::string_view in = "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n";
  std::size_t consumed = 0;
  CHECK(p.feed(in, consumed) == Parser::Event::head_complete);
  CHECK(in.substr(consumed).substr(0, 3) == "abc");
  CHECK(p.head().method == "POST");
  CHECK(p.expects_body());
  in.remove_prefix(consumed);
  CHECK(p.feed(in, consumed) == Parser::Event::message_complete);
  CHECK(consumed == 3);
  in.remove_prefix(consumed);
  auto req = p.take_request();
  CHECK(req->body_length == 3);
  CHECK(test::read_all(req->body) == "abc");
  // The next message starts cleanly.
  CHECK(p.feed(in, consumed) == Parser::Event::head_complete);
  CHECK_FALSE(p.expects_body());
  CHECK(consumed == in.size());
  CHECK(p.feed({}, consumed) == Parser::Event::message_complete);
  CHECK(p.take_request()->head.target == "/b");
}

TEST_CASE("fields: order, names as sent, OWS trimmed, '_' names dropped") {
  Parser p(limits());
  std::string_view in =
      "GET / HTTP/1.1\r\nHost: h\r\nX-Auth_User: bob\r\nCookie: a=1\r\ncookie:  b=2 \t\r\n"
      "X-Odd: \xa0v\x85\r\n\r\n";
  REQUIRE(feed_all(p, in) == Parser::Event::message_complete);
  auto req = p.take_request();
  auto& f = req->head.fields;
  REQUIRE(f.size() == 4);
  CHECK(f[0].name == "Host");
  CHECK(f[1].name == "Cookie");
  CHECK(f[2].name == "cookie");
  CHECK(f[2].value == "b=2");
  CHECK(f[3].value == "\xa0v\x85");
  CHECK(req->head.find("COOKIE")->value == "a=1");
  CHECK(req->head.find("X-Auth_User") == nullptr);
}

TEST_CASE("a browser's head of 12 fields is stored without growing the fields' vector") {
  Parser p(limits());
  std::string in = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 12; ++i) in += "X-F" + std::to_string(i) + ": v\r\n";
  in += "\r\n";
  std::string_view view = in;
  REQUIRE(feed_all(p, view) == Parser::Event::message_complete);
  auto req = p.take_request();
  CHECK(req->head.fields.size() == 12);
  CHECK(req->head.fields.capacity() == 12);  // one allocation: grown one by one it is 16
}

TEST_CASE("keep-alive and expect flags") {
  auto head_of = [](std::string_view in) {
    Parser p(limits());
    feed_all(p, in);
    return p.take_request()->head;
  };
  CHECK(head_of("GET / HTTP/1.1\r\n\r\n").keep_alive);
  CHECK_FALSE(head_of("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").keep_alive);
  CHECK_FALSE(head_of("GET / HTTP/1.1\r\nConnection: foo\r\nConnection: close\r\n\r\n").keep_alive);
  CHECK_FALSE(head_of("GET / HTTP/1.0\r\n\r\n").keep_alive);
  CHECK(head_of("GET / HTTP/1.0\r\nConnection: keep-alive, foo\r\n\r\n").keep_alive);
  CHECK(head_of("GET / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n").expect_continue);
  CHECK_FALSE(head_of("GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expect_continue);
  CHECK_FALSE(head_of("GET / HTTP/1.1\r\nExpect: 100-continue, x\r\n\r\n").expect_continue);
}

TEST_CASE("framing checks come in a fixed order, whatever the field order") {
  CHECK(error_of("POST / HTTP/1.0\r\nTransfer-Encoding: gzip\r\n\r\n") ==
        errc::transfer_encoding_http10);
  CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: gzip\r\n\r\n") ==
        errc::transfer_encoding_not_implemented);
  CHECK(error_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n") ==
        errc::transfer_encoding_not_implemented);
  CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        errc::transfer_encoding_with_content_length);
  CHECK(error_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n") ==
        errc::transfer_encoding_with_content_length);
  CHECK(
      error_of(
          "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n") ==
      errc::transfer_encoding_not_implemented);
  CHECK(error_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n") ==
        errc::transfer_encoding_not_implemented);
}

TEST_CASE("field rules") {
  CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n") == errc::duplicate_field);
  CHECK(error_of("GET / HTTP/1.1\r\nContent-Type: a\r\nContent-Type: a\r\n\r\n") ==
        errc::duplicate_field);
  CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n") ==
        errc::duplicate_field);
  CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n") == errc::invalid_content_length);
  CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n") ==
        errc::invalid_content_length);
  CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n") ==
        errc::invalid_content_length);
  CHECK(error_of("GET / HTTP/1.1\r\nHost: a b\r\n\r\n") == errc::invalid_host);
  CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: 1024\r\n\r\n") == errc::body_too_large);
  CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: 1023\r\n\r\n") == std::error_code());
}

TEST_CASE("an Upgrade request is an ordinary request, and the next one follows") {
  Parser p(limits());
  std::string_view in =
      "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /2 HTTP/1.1\r\n\r\n";
  REQUIRE(feed_all(p, in) == Parser::Event::message_complete);
  CHECK(p.take_request()->head.find("Upgrade")->value == "websocket");
  REQUIRE(feed_all(p, in) == Parser::Event::message_complete);
  CHECK(p.take_request()->head.target == "/2");
}

TEST_CASE("error versions: the request's once its line is valid; HTTP/1.0 for 431") {
  Parser a(limits());
  std::string_view in = "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n";
  feed_all(a, in);
  CHECK(a.error_version_minor() == 1);
  Parser b(limits(64));
  in = "GET / HTTP/1.1\r\nA: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
  feed_all(b, in);
  CHECK(b.error() == errc::head_too_large);
  CHECK(b.error_version_minor() == -1);
  Parser c(limits());
  in = "GET / HTTP/1.1\nHost: a\r\n\r\n";
  feed_all(c, in);
  CHECK(c.error_version_minor() == -1);
}

namespace {

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

}  // namespace

TEST_CASE("bodies at inbuf_overflow go to an unnamed temporary file, closed with the request") {
  std::size_t fds_before = open_fds();
  {
    Parser p(limits(1024, 1 << 20, 64));
    std::string body(100, 'z');
    std::string msg = "POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + body;
    std::string_view in = msg;
    REQUIRE(feed_all(p, in) == Parser::Event::message_complete);
    auto req = p.take_request();
    CHECK(req->body.spilled());
    CHECK(req->body.file_descriptor() >= 0);
    CHECK(test::read_all(req->body) == body);
    Parser q(limits(1024, 1 << 20, 64));
    std::string small = "POST / HTTP/1.1\r\nContent-Length: 63\r\n\r\n" + std::string(63, 'y');
    in = small;
    REQUIRE(feed_all(q, in) == Parser::Event::message_complete);
    CHECK_FALSE(q.take_request()->body.spilled());
  }
  CHECK(open_fds() == fds_before);
}

TEST_CASE("a head arriving with body bytes behind it: only the head is kept in its buffer") {
  Parser p(limits(64 * 1024, 1 << 20, 1 << 20));
  const std::string head = "POST /x HTTP/1.1\r\nContent-Length: 30000\r\n\r\n";
  const std::string msg = head + std::string(30000, 'b');
  std::size_t consumed = 0;
  REQUIRE(p.feed(msg, consumed) == Parser::Event::head_complete);
  CHECK(consumed == head.size());
  CHECK(p.retained_bytes() < 1024);  // the 30,000 body bytes were not copied with the head
  std::string_view rest = std::string_view(msg).substr(consumed);
  REQUIRE(feed_all(p, rest) == Parser::Event::message_complete);
  CHECK(test::read_all(p.take_request()->body) == std::string(30000, 'b'));
}

TEST_CASE("body_room: a Content-Length body read in place, never past its end") {
  Parser p(limits(1024, 1 << 20, 1 << 20));
  std::string_view in = "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc";
  std::size_t consumed = 0;
  CHECK(p.body_room(100).empty());  // no body before the head
  REQUIRE(p.feed(in, consumed) == Parser::Event::head_complete);
  in.remove_prefix(consumed);
  REQUIRE(p.feed(in, consumed) == Parser::Event::need_more);  // "abc" fed as usual
  std::span<char> room = p.body_room(100);
  REQUIRE(room.size() == 7);  // what the body lacks, not the 100 asked for
  std::memcpy(room.data(), "defg", 4);
  CHECK(p.commit_body(4) == Parser::Event::need_more);
  room = p.body_room(2);
  REQUIRE(room.size() == 2);  // no more than asked
  std::memcpy(room.data(), "hi", 2);
  CHECK(p.commit_body(2) == Parser::Event::need_more);
  room = p.body_room(100);
  REQUIRE(room.size() == 1);
  room[0] = 'j';
  CHECK(p.commit_body(1) == Parser::Event::message_complete);
  CHECK(p.body_room(100).empty());  // complete: nothing more goes in
  auto req = p.take_request();
  REQUIRE(req);
  CHECK(req->body_length == 10);
  CHECK(test::read_all(req->body) == "abcdefghij");
  CHECK(p.body_room(100).empty());  // the next message has no head yet
}

TEST_CASE("body_room: room grows with what arrived, so an announced body costs no memory ahead") {
  Parser p(limits(1024, std::uint64_t{1} << 40, std::uint64_t{1} << 40));
  std::string_view in = "POST / HTTP/1.1\r\nContent-Length: 1000000000\r\n\r\n";
  std::size_t consumed = 0;
  REQUIRE(p.feed(in, consumed) == Parser::Event::head_complete);
  std::span<char> room = p.body_room(std::size_t{1} << 30);
  REQUIRE(room.size() == 64 * 1024);  // not the gigabyte announced
  std::memset(room.data(), 'a', room.size());
  CHECK(p.commit_body(room.size()) == Parser::Event::need_more);
  room = p.body_room(std::size_t{1} << 30);
  REQUIRE(room.size() == 64 * 1024);  // as much as arrived so far
  std::memset(room.data(), 'b', room.size());
  CHECK(p.commit_body(room.size()) == Parser::Event::need_more);
  CHECK(p.body_room(std::size_t{1} << 30).size() == 128 * 1024);
}

TEST_CASE("body_room: none for chunked, streamed or spilled bodies") {
  std::size_t consumed = 0;
  Parser chunked(limits(1024, 1 << 20, 1 << 20));
  REQUIRE(chunked.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", consumed) ==
          Parser::Event::head_complete);
  CHECK(chunked.body_room(100).empty());
  Parser spilled(limits(1024, 1 << 20, 64));  // a 100-byte body goes to a file
  REQUIRE(spilled.feed("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n", consumed) ==
          Parser::Event::head_complete);
  CHECK(spilled.body_room(100).empty());
  ParserLimits l = limits(1024, 1 << 20, 1 << 20);
  l.stream_bodies = true;
  Parser streamed(l);
  REQUIRE(streamed.feed("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n", consumed) ==
          Parser::Event::head_complete);
  auto req = streamed.take_streaming_request();
  REQUIRE(req);
  CHECK(streamed.body_room(100).empty());
}

TEST_CASE("in_message tells a partial request from an idle connection") {
  Parser p(limits());
  std::size_t consumed = 0;
  CHECK_FALSE(p.in_message());
  p.feed("\r\n", consumed);
  CHECK_FALSE(p.in_message());
  p.feed("GE", consumed);
  CHECK(p.in_message());
}

TEST_CASE("regression: take_request() hands out nothing before the message is complete") {
  Parser p(limits());
  std::size_t consumed = 0;
  REQUIRE(p.feed("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n", consumed) ==
          Parser::Event::head_complete);
  CHECK(p.take_request() == nullptr);
  CHECK(p.feed("abc", consumed) == Parser::Event::message_complete);
  CHECK(test::read_all(p.take_request()->body) == "abc");
}

TEST_CASE("regression: an empty host with a port, and an absolute-form without a host") {
  CHECK(error_of("GET / HTTP/1.1\r\nHost: :80\r\n\r\n") == errc::invalid_host);
  CHECK(error_of("GET http:// HTTP/1.1\r\n\r\n") == errc::invalid_target);
  CHECK(error_of("GET http:///p HTTP/1.1\r\n\r\n") == errc::invalid_target);
  CHECK(error_of("GET / HTTP/1.1\r\nHost:\r\n\r\n") == std::error_code());
}
