// The connection state machine, driven without sockets: the request-case table
// (each case whole, split in two at every byte, and one byte at a time), then
// the response side (framing, keep-alive, warnings, errors).
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>

#include "core/log.hpp"

#include "http/request_cases.hpp"
#include "support/connection_driver.hpp"
#include "support/response_reader.hpp"

namespace waitron::test {
namespace {

std::string temp_dir() {
  const char* d = std::getenv("WAITRON_TEST_TMPDIR");
  return d ? d : "";
}

http::ConnectionSettings table_settings() {
  http::ConnectionSettings s;
  s.parser.max_head_bytes = 1024;
  s.parser.max_body_bytes = 1024;
  s.parser.inbuf_overflow = 64;
  s.parser.temp_dir = temp_dir();
  return s;
}

// What a case observes, printable so that a failure shows both sides.
struct Outcome {
  std::vector<ExpectedRequest> requests;
  int error_status = 0;
  bool open_after = true;
  bool continue_sent = false;
  std::vector<std::pair<std::string, std::string>> fields;

  std::string describe(bool with_fields) const {
    std::ostringstream o;
    o << "error=" << error_status << " open=" << open_after << " continue=" << continue_sent
      << " requests=[";
    for (auto& r : requests) {
      o << "{" << r.method << " " << r.target << " 1." << r.minor << " body=" << r.body.size()
        << ":" << r.body << "}";
    }
    o << "]";
    if (with_fields) {
      o << " fields=[";
      for (auto& f : fields) o << f.first << "=" << f.second << "|";
      o << "]";
    }
    return o.str();
  }
};

Outcome expected_outcome(const RequestCase& c) {
  Outcome o;
  o.requests = c.requests;
  o.error_status = c.error_status;
  o.open_after = c.open_after;
  o.continue_sent = c.continue_sent;
  o.fields = c.fields;
  return o;
}

// `in_place`: body bytes go into the body's room where the connection lends one, as the
// channel reads them from a socket.
Outcome run(const RequestCase& c, const std::vector<std::string_view>& pieces,
            bool in_place = false) {
  ConnectionDriver d(table_settings());
  for (auto p : pieces) {
    if (in_place) {
      d.send_in_place(p);
    } else {
      d.send(p);
    }
  }
  if (c.eof_after) d.send_eof();
  Outcome o;
  for (auto& r : d.requests()) {
    o.requests.push_back(
        ExpectedRequest{r.head.method, r.head.target, r.head.version_minor, r.body});
  }
  if (!d.requests().empty() && !c.fields.empty()) {
    for (auto& f : d.requests().front().head.fields) o.fields.emplace_back(f.name, f.value);
  } else {
    o.fields = c.fields;
  }
  std::vector<bool> answers_head;
  for (auto& r : d.requests()) answers_head.push_back(r.head.method == "HEAD");
  for (auto& resp : read_responses(d.output(), answers_head)) {
    if (resp.status() == 100) {
      o.continue_sent = true;
    } else if (resp.status() != 200) {
      o.error_status = resp.status();
    }
  }
  o.open_after = !d.connection().closing();
  return o;
}

TEST_CASE("request table: names are unique and the table is large enough") {
  auto cases = request_cases();
  std::set<std::string> names;
  for (auto& c : cases) CHECK_MESSAGE(names.insert(c.name).second, "duplicate name " << c.name);
  CHECK(cases.size() >= 100);
}

TEST_CASE("request table: each case, whole") {
  for (const RequestCase& c : request_cases()) {
    bool with_fields = !c.fields.empty();
    std::string want = expected_outcome(c).describe(with_fields);
    std::string got = run(c, {c.input}).describe(with_fields);
    CHECK_MESSAGE(got == want, c.name << "\n  got:  " << got << "\n  want: " << want);
  }
}

TEST_CASE("request table: each case split in two at every byte") {
  for (const RequestCase& c : request_cases()) {
    bool with_fields = !c.fields.empty();
    std::string want = expected_outcome(c).describe(with_fields);
    std::string_view in(c.input);
    for (std::size_t i = 1; i < in.size(); ++i) {
      std::string got = run(c, {in.substr(0, i), in.substr(i)}).describe(with_fields);
      if (got != want) {
        FAIL_CHECK(c.name << " split at " << i << "\n  got:  " << got << "\n  want: " << want);
        break;
      }
    }
  }
}

TEST_CASE("request table: each case one byte at a time") {
  for (const RequestCase& c : request_cases()) {
    bool with_fields = !c.fields.empty();
    std::string want = expected_outcome(c).describe(with_fields);
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < c.input.size(); ++i)
      bytes.push_back(std::string_view(c.input).substr(i, 1));
    std::string got = run(c, bytes).describe(with_fields);
    CHECK_MESSAGE(got == want, c.name << " byte by byte\n  got:  " << got << "\n  want: " << want);
  }
}

TEST_CASE("request table: each case split at every byte, bodies read in place") {
  for (const RequestCase& c : request_cases()) {
    bool with_fields = !c.fields.empty();
    std::string want = expected_outcome(c).describe(with_fields);
    std::string_view in(c.input);
    for (std::size_t i = 1; i < in.size(); ++i) {
      std::string got = run(c, {in.substr(0, i), in.substr(i)}, true).describe(with_fields);
      if (got != want) {
        FAIL_CHECK(c.name << " split at " << i << "\n  got:  " << got << "\n  want: " << want);
        break;
      }
    }
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < in.size(); ++i) bytes.push_back(in.substr(i, 1));
    std::string got = run(c, bytes, true).describe(with_fields);
    CHECK_MESSAGE(got == want, c.name << " byte by byte\n  got:  " << got << "\n  want: " << want);
  }
}

// ---------------------------------------------------------------------------
// The response side and the ordering rules, request by request.

struct Harness {
  FixedDate date;
  core::MemoryLogger log;
  http::Connection conn;
  std::string wire;

  explicit Harness(std::uint64_t overflow = 1 << 20) : conn(settings(overflow), date) {}

  http::ConnectionSettings settings(std::uint64_t overflow) {
    http::ConnectionSettings s;
    s.parser.inbuf_overflow = overflow;
    s.parser.temp_dir = temp_dir();
    s.logger = &log;
    return s;
  }
  const std::string& out() {
    wire += flatten(conn);
    return wire;
  }
  std::shared_ptr<http::IncomingRequest> take() {
    REQUIRE(conn.has_request());
    return conn.take_request();
  }
  void respond(std::string status, std::vector<http::Field> fields, std::string_view body) {
    REQUIRE(!conn.start_response({std::move(status), std::move(fields)}));
    conn.write_body(body);
    conn.finish_response();
  }
};

TEST_CASE("pipelined requests are handed out one at a time, answered in order") {
  Harness h;
  std::string in;
  for (int i = 0; i < 10; ++i) in += "GET /" + std::to_string(i) + " HTTP/1.1\r\n\r\n";
  h.conn.receive(in);
  for (int i = 0; i < 10; ++i) {
    auto req = h.take();
    CHECK(req->head.target == "/" + std::to_string(i));
    CHECK_FALSE(h.conn.has_request());  // not before this one is answered
    CHECK_FALSE(h.conn.wants_read());
    h.respond("200 OK", {{"Content-Length", std::to_string(req->head.target.size())}},
              req->head.target);
  }
  auto responses = read_responses(h.out());
  REQUIRE(responses.size() == 10);
  for (int i = 0; i < 10; ++i)
    CHECK(responses[static_cast<std::size_t>(i)].body == "/" + std::to_string(i));
  CHECK(h.conn.wants_read());
  CHECK_FALSE(h.conn.closing());
}

TEST_CASE("a response head is written into the string the last one gave back") {
  Harness h;
  h.conn.receive("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
  h.take();
  h.respond("200 OK", {{"Content-Length", "1"}}, "a");
  std::string sent;
  h.conn.drain_output([&](http::OutputChunk&& c) { sent = std::get<std::string>(std::move(c)); });
  REQUIRE(sent.find("\r\n\r\na") != std::string::npos);
  const char* memory = sent.data();
  h.conn.recycle(std::move(sent));
  std::string refused(1000, 'x');
  const char* refused_memory = refused.data();
  h.conn.recycle(std::move(refused));  // one spare at a time
  CHECK(refused.data() == refused_memory);
  h.conn.recycle(std::string(http::Connection::kMaxSpare + 1, 'y'));  // too large: dropped
  CHECK(h.conn.retained_bytes() >= 512);
  h.take();
  h.respond("200 OK", {{"Content-Length", "1"}}, "b");
  std::string next;
  h.conn.drain_output([&](http::OutputChunk&& c) { next = std::get<std::string>(std::move(c)); });
  CHECK(next.data() == memory);
  CHECK(next.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(next.find("\r\n\r\nb") != std::string::npos);
  CHECK(next.find("\r\n\r\na") == std::string::npos);  // nothing of the last response left
}

TEST_CASE("a body read in place: the request completes and the next one parses as usual") {
  Harness h;
  CHECK(h.conn.receive_room(100).empty());  // nothing received yet: reads go elsewhere
  h.conn.receive("POST /a HTTP/1.1\r\nContent-Length: 6\r\n\r\nab");
  std::span<char> room = h.conn.receive_room(100);
  REQUIRE(room.size() == 4);  // the rest of the body and no byte more
  std::memcpy(room.data(), "cd", 2);
  h.conn.received_in_place(2);
  CHECK_FALSE(h.conn.has_request());
  room = h.conn.receive_room(100);
  REQUIRE(room.size() == 2);
  std::memcpy(room.data(), "ef", 2);
  h.conn.received_in_place(2);
  auto req = h.take();
  CHECK(req->head.target == "/a");
  CHECK(read_all(req->body) == "abcdef");
  CHECK(h.conn.receive_room(100).empty());  // a request runs: bytes wait in the input
  h.respond("200 OK", {{"Content-Length", "0"}}, "");
  // Head and body with the next request right behind: it is buffered, so no room is lent
  // until the buffered bytes are parsed.
  h.conn.receive("POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyzGET /c HTTP/1.1\r\n\r\n");
  CHECK(h.conn.receive_room(100).empty());
  CHECK(read_all(h.take()->body) == "xyz");
  h.respond("200 OK", {{"Content-Length", "0"}}, "");
  CHECK(h.take()->head.target == "/c");
  h.respond("200 OK", {{"Content-Length", "0"}}, "");
  CHECK(read_responses(h.out()).size() == 3);
}

TEST_CASE("100 Continue goes out at the head, before the body, and only for a body") {
  Harness h;
  h.conn.receive("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  CHECK(h.out() == "HTTP/1.1 100 Continue\r\n\r\n");
  CHECK_FALSE(h.conn.has_request());
  h.conn.receive("abc");
  CHECK(read_all(h.take()->body) == "abc");
  Harness g;
  g.conn.receive("GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n");
  CHECK(g.conn.has_request());
  CHECK(g.out().empty());
}

TEST_CASE("100 Continue of a pipelined request waits for the previous response") {
  Harness h;
  h.conn.receive(
      "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nExpect: 100-continue\r\n"
      "Content-Length: 1\r\n\r\n");
  h.take();
  CHECK(h.out().empty());
  h.respond("200 OK", {{"Content-Length", "1"}}, "A");
  auto rs = read_responses(h.out());
  REQUIRE(rs.size() == 2);
  CHECK(rs[0].status() == 200);
  CHECK(rs[1].status() == 100);
  h.conn.receive("x");
  CHECK(h.take()->head.target == "/b");
}

TEST_CASE("after an error no later byte is parsed, even a valid request") {
  Harness h;
  h.conn.receive("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n");
  CHECK_FALSE(h.conn.has_request());
  CHECK(h.conn.closing());
  h.conn.receive("GET /later HTTP/1.1\r\n\r\n");
  CHECK_FALSE(h.conn.has_request());
  auto rs = read_responses(h.out());
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].status_line == "HTTP/1.1 400 Bad Request");
  CHECK(*rs[0].field("Connection") == "close");
  CHECK(rs[0].body.find("Duplicate header") != std::string::npos);
}

TEST_CASE("a response with Connection: close stops the pipeline") {
  Harness h;
  h.conn.receive("GET /a HTTP/1.1\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
  h.take();
  h.respond("200 OK", {{"Content-Length", "0"}}, "");
  CHECK(h.conn.closing());
  CHECK_FALSE(h.conn.has_request());
  auto rs = read_responses(h.out());
  REQUIRE(rs.size() == 1);
  CHECK(*rs[0].field("Connection") == "close");
}

TEST_CASE("chunked responses: one chunk per non-empty write, then the last chunk; keep-alive") {
  Harness h;
  h.conn.receive("GET / HTTP/1.1\r\n\r\n");
  h.take();
  REQUIRE(!h.conn.start_response({"200 OK", {}}));
  h.conn.write_body(std::string_view("0123456789"));
  h.conn.write_body(std::string_view(""));
  h.conn.write_body(std::string(20000, 'x'));
  h.conn.finish_response();
  std::string wire = h.out();
  std::string body_part = wire.substr(wire.find("\r\n\r\n") + 4);
  CHECK(body_part == "A\r\n0123456789\r\n4E20\r\n" + std::string(20000, 'x') + "\r\n0\r\n\r\n");
  CHECK_FALSE(h.conn.closing());
  CHECK(h.conn.wants_read());
}

TEST_CASE(
    "a body longer than Content-Length is cut, with one warning, and the connection persists") {
  Harness h;
  h.conn.receive("GET / HTTP/1.1\r\n\r\n");
  h.take();
  REQUIRE(!h.conn.start_response({"200 OK", {{"Content-Length", "3"}}}));
  h.conn.write_body(std::string_view("hello"));
  h.conn.write_body(std::string_view("more"));
  h.conn.finish_response();
  CHECK(read_responses(h.out())[0].body == "hel");
  CHECK(h.wire.substr(h.wire.size() - 3) == "hel");
  CHECK(h.log.count_containing(
            "exceeded the number of bytes specified by Content-Length header (3)") == 1);
  CHECK_FALSE(h.conn.closing());
}

TEST_CASE("a body shorter than Content-Length closes the connection, with a warning") {
  Harness h;
  h.conn.receive("GET / HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
  h.take();
  h.respond("200 OK", {{"Content-Length", "10"}}, "abc");
  CHECK(h.conn.closing());
  CHECK_FALSE(h.conn.has_request());
  CHECK(h.log.count_containing(
            "application returned too few bytes (3) for specified Content-Length (10)") == 1);
}

TEST_CASE("HEAD responses carry no body and no warning; 204 bodies are dropped with a warning") {
  Harness h;
  h.conn.receive("HEAD / HTTP/1.1\r\n\r\n");
  h.take();
  h.respond("200 OK", {{"Content-Length", "5"}}, "hello");
  CHECK(h.out().find("hello") == std::string::npos);
  CHECK(h.log.size() == 0);
  CHECK_FALSE(h.conn.closing());
  h.conn.receive("GET / HTTP/1.1\r\n\r\n");
  h.take();
  h.respond("204 No Content", {}, "ignored");
  CHECK(h.out().find("ignored") == std::string::npos);
  CHECK(h.log.count_containing("may not contain a message-body: (204)") == 1);
  CHECK_FALSE(h.conn.closing());
}

TEST_CASE("HTTP/1.0 without Content-Length is close-delimited") {
  Harness h;
  h.conn.receive("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  h.take();
  h.respond("200 OK", {}, "body");
  CHECK(h.conn.closing());
  auto rs = read_responses(h.out());
  CHECK(*rs[0].field("Connection") == "close");
  CHECK(rs[0].body == "body");
}

TEST_CASE("an application failure before the head becomes an error response; after it, a cut") {
  Harness h;
  h.conn.receive("GET / HTTP/1.0\r\n\r\n");
  h.take();
  CHECK(h.conn.start_response({"bogus", {}}));
  h.conn.fail_response(500, "The server encountered an unexpected internal server error");
  CHECK(h.conn.closing());
  auto rs = read_responses(h.out());
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].status_line == "HTTP/1.0 500 Internal Server Error");

  Harness g;
  g.conn.receive("GET / HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
  g.take();
  REQUIRE(!g.conn.start_response({"200 OK", {}}));
  g.conn.write_body(std::string_view("part"));
  g.conn.abort_response();
  CHECK(g.conn.closing());
  CHECK_FALSE(g.conn.has_request());
  CHECK(g.out().find("0\r\n\r\n") == std::string::npos);
}

TEST_CASE("shared bytes are framed like bytes and cut to Content-Length") {
  Harness h;
  h.conn.receive("GET / HTTP/1.1\r\n\r\n");
  h.take();
  REQUIRE(!h.conn.start_response({"200 OK", {}}));
  auto text = std::make_shared<const std::string>("0123456789");
  h.conn.write_shared(http::SharedBytes{std::string_view(*text), text});
  h.conn.finish_response();
  CHECK(h.out().find("A\r\n0123456789\r\n0\r\n\r\n") != std::string::npos);
  h.conn.receive("GET / HTTP/1.1\r\n\r\n");
  h.take();
  REQUIRE(!h.conn.start_response({"200 OK", {{"Content-Length", "4"}}}));
  h.conn.write_shared(http::SharedBytes{std::string_view(*text), text});
  h.conn.finish_response();
  auto rs = read_responses(h.out());
  REQUIRE(rs.size() == 2);
  CHECK(rs[1].body == "0123");
}

TEST_CASE("file regions are framed like bytes and cut to Content-Length") {
  std::string path = (temp_dir().empty() ? std::string("/tmp") : temp_dir()) + "/region.txt";
  {
    FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f);
    std::fputs("0123456789", f);
    std::fclose(f);
  }
  core::FileRegion whole;
  REQUIRE(!core::FileRegion::open_file(path, whole));
  std::remove(path.c_str());
  Harness h;
  h.conn.receive("GET / HTTP/1.1\r\n\r\n");
  h.take();
  REQUIRE(!h.conn.start_response({"200 OK", {{"Content-Length", "4"}}}));
  core::FileRegion copy;
  REQUIRE(!core::FileRegion::dup_from(whole.fd(), 0, 10, copy));
  h.conn.write_file(std::move(copy));
  h.conn.finish_response();
  CHECK(read_responses(h.out())[0].body == "0123");
  h.conn.receive("GET / HTTP/1.1\r\n\r\n");
  h.take();
  REQUIRE(!h.conn.start_response({"200 OK", {}}));
  h.conn.write_file(std::move(whole));
  h.conn.finish_response();
  auto rs = read_responses(h.out());
  REQUIRE(rs.size() == 2);
  CHECK(rs[1].body == "0123456789");
  CHECK(h.wire.find("A\r\n0123456789\r\n0\r\n\r\n") != std::string::npos);
}

TEST_CASE("at EOF, complete requests are still served, then the connection closes") {
  Harness h;
  h.conn.receive("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /partial HT");
  h.conn.receive_eof();
  CHECK(h.take()->head.target == "/a");
  h.respond("200 OK", {{"Content-Length", "0"}}, "");
  CHECK(h.take()->head.target == "/b");
  h.respond("200 OK", {{"Content-Length", "0"}}, "");
  CHECK_FALSE(h.conn.has_request());
  CHECK(h.conn.closing());
  CHECK(read_responses(h.out()).size() == 2);
}

TEST_CASE("close_after_response: idle closes now, in-flight closes after its response") {
  Harness idle;
  idle.conn.receive("GET /partial HT");
  idle.conn.close_after_response();
  CHECK(idle.conn.closing());
  CHECK(idle.out().empty());

  Harness busy;
  busy.conn.receive("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
  busy.take();
  busy.conn.close_after_response();
  CHECK_FALSE(busy.conn.closing());
  busy.respond("200 OK", {{"Content-Length", "1"}}, "x");
  CHECK(busy.conn.closing());
  CHECK_FALSE(busy.conn.has_request());
  auto rs = read_responses(busy.out());
  REQUIRE(rs.size() == 1);
  CHECK(*rs[0].field("Connection") == "close");

  Harness responding;
  responding.conn.receive("GET /a HTTP/1.1\r\n\r\n");
  responding.take();
  REQUIRE(!responding.conn.start_response({"200 OK", {{"Content-Length", "1"}}}));
  responding.conn.close_after_response();
  responding.conn.write_body(std::string_view("x"));
  responding.conn.finish_response();
  CHECK(responding.conn.closing());
}

TEST_CASE("at rest: only between requests, with nothing received, running or waiting") {
  Harness h;
  CHECK(h.conn.at_rest());
  h.conn.receive("\r\n");  // a leading empty line is part of the next message
  CHECK_FALSE(h.conn.at_rest());
  h.conn.receive("GET /a HTTP/1.1\r\n");
  CHECK_FALSE(h.conn.at_rest());
  h.conn.receive("\r\nGET /b HTTP/1.1\r\n\r\n");
  h.take();
  CHECK_FALSE(h.conn.at_rest());  // running
  h.respond("200 OK", {{"Content-Length", "1"}}, "a");
  CHECK_FALSE(h.conn.at_rest());  // /b is ready, and the output waits
  h.take();
  h.respond("200 OK", {{"Content-Length", "1"}}, "b");
  CHECK_FALSE(h.conn.at_rest());  // the output waits
  CHECK(read_responses(h.out()).size() == 2);
  CHECK(h.conn.at_rest());

  // A response that ends the connection, and the peer's end, are never at rest.
  h.conn.receive("GET /c HTTP/1.0\r\n\r\n");
  h.take();
  h.respond("200 OK", {{"Content-Length", "1"}}, "c");
  h.out();
  CHECK(h.conn.closing());
  CHECK_FALSE(h.conn.at_rest());
  Harness ended;
  ended.conn.receive_eof();
  CHECK_FALSE(ended.conn.at_rest());
}

// Regressions from the review of the protocol engine.

TEST_CASE("regression: a 1xx final status is refused, so no response desync can follow") {
  Harness h;
  h.conn.receive("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
  h.take();
  CHECK(h.conn.start_response({"103 Early Hints", {}}));
  h.conn.fail_response(500, "The server encountered an unexpected internal server error");
  CHECK(h.conn.closing());
  CHECK_FALSE(h.conn.has_request());
  auto rs = read_responses(h.out());
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].status() == 500);
}

TEST_CASE("regression: start_response is refused outside its state") {
  Harness h;
  h.conn.receive("GET / HTTP/1.1\r\n\r\n");
  h.take();
  h.conn.fail_response(500, "boom");
  CHECK(h.conn.start_response({"200 OK", {{"Content-Length", "0"}}}));
  h.conn.finish_response();
  h.conn.receive("GET /smuggled HTTP/1.1\r\n\r\n");
  CHECK(h.conn.closing());
  CHECK_FALSE(h.conn.has_request());

  Harness twice;
  twice.conn.receive("GET / HTTP/1.1\r\n\r\n");
  twice.take();
  REQUIRE(!twice.conn.start_response({"200 OK", {}}));
  CHECK(twice.conn.start_response({"500 Oops", {}}));
  CHECK(twice.out().find("500 Oops") == std::string::npos);
}

TEST_CASE("regression: max_request_header_size=0 answers 431 instead of buffering forever") {
  FixedDate date;
  http::ConnectionSettings s;
  s.parser.max_head_bytes = 0;
  http::Connection conn(s, date);
  conn.receive(std::string(4096, 'A'));
  CHECK(conn.closing());
  CHECK(flatten(conn).find(" 431 ") != std::string::npos);
}

TEST_CASE("regression: input arriving while a request is busy is bounded") {
  Harness h;
  h.conn.receive("GET / HTTP/1.1\r\n\r\n");
  h.take();
  std::string flood(1 << 20, 'x');
  for (int i = 0; i < 8; ++i) {
    h.conn.receive(flood);
    CHECK(h.conn.buffered_input() <= (1u << 20));  // one head (256 KiB) plus 64 KiB at most
  }
  CHECK_FALSE(h.conn.wants_read());
  // The request in flight still gets its response; nothing after it is parsed.
  h.respond("200 OK", {{"Content-Length", "0"}}, "");
  CHECK(h.conn.closing());
  CHECK_FALSE(h.conn.has_request());
}

TEST_CASE("regression: error responses name the duplicate field and the bad method") {
  Harness dup;
  dup.conn.receive("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n");
  CHECK(dup.out().find("Duplicate header: host") != std::string::npos);
  Harness method;
  method.conn.receive("get / HTTP/1.1\r\n\r\n");
  CHECK(method.out().find("Malformed HTTP method \"get\"") != std::string::npos);
  // A well-formed request line with an unknown method is answered in its own version.
  Harness unknown;
  unknown.conn.receive("FOO / HTTP/1.1\r\n\r\n");
  CHECK(unknown.out().rfind("HTTP/1.1 501 Not Implemented\r\n", 0) == 0);
}

// stream_request_body: requests are handed out at their head.

struct StreamHarness : Harness {
  StreamHarness() : Harness() {}
  static http::ConnectionSettings streaming() {
    http::ConnectionSettings s;
    s.parser.stream_bodies = true;
    s.parser.temp_dir = temp_dir();
    return s;
  }
};

std::string stream_text(http::IncomingRequest& req) {
  std::string out;
  char buf[64];
  std::size_t copied = 0;
  std::uint64_t at = 0;
  while (!req.stream->read_at(at, std::span<char>(buf, sizeof buf), copied, false) && copied > 0) {
    out.append(buf, copied);
    at += copied;
  }
  return out;
}

TEST_CASE("streaming: the request is handed out at its head; its body keeps arriving") {
  FixedDate date;
  http::Connection conn(StreamHarness::streaming(), date);
  conn.receive("POST /up HTTP/1.1\r\nContent-Length: 10\r\n\r\nfirst");
  REQUIRE(conn.has_request());
  auto req = conn.take_request();
  REQUIRE(req->stream);
  CHECK(stream_text(*req) == "first");
  CHECK_FALSE(req->stream->complete());
  CHECK(conn.wants_read());  // still reading the body while the application runs
  conn.receive("part2GET /next HTTP/1.1\r\n\r\n");
  CHECK(stream_text(*req) == "firstpart2");
  CHECK(req->stream->complete());
  CHECK_FALSE(conn.has_request());  // the next request waits for this response
  REQUIRE(!conn.start_response({"200 OK", {{"Content-Length", "0"}}}));
  conn.finish_response();
  REQUIRE(conn.has_request());
  CHECK(conn.take_request()->head.target == "/next");
}

TEST_CASE("streaming: chunked bodies stream too; 100 Continue comes first") {
  FixedDate date;
  http::Connection conn(StreamHarness::streaming(), date);
  conn.receive("POST / HTTP/1.1\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n");
  CHECK(flatten(conn) == "HTTP/1.1 100 Continue\r\n\r\n");
  auto req = conn.take_request();
  REQUIRE(req);
  conn.receive("3\r\nabc\r\n");
  CHECK(stream_text(*req) == "abc");
  conn.receive("0\r\n\r\n");
  CHECK(req->stream->complete());
}

TEST_CASE("streaming: a response that ends before its body closes the connection") {
  FixedDate date;
  http::Connection conn(StreamHarness::streaming(), date);
  conn.receive("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
  auto req = conn.take_request();
  REQUIRE(!conn.start_response({"413 Too Big", {{"Content-Length", "0"}}}));
  conn.finish_response();
  CHECK(conn.closing());
  std::uint64_t length = 0;
  CHECK(req->stream->wait_complete(length));  // failed: the reader does not wait forever
}

TEST_CASE("streaming: a malformed body fails the stream; the connection ends after the response") {
  FixedDate date;
  http::Connection conn(StreamHarness::streaming(), date);
  conn.receive("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
  auto req = conn.take_request();
  conn.receive("zz\r\n");
  CHECK(req->stream->error() == waitron::errc::invalid_chunk_size);
  CHECK_FALSE(conn.wants_read());
  REQUIRE(!conn.start_response({"500 Internal Server Error", {{"Content-Length", "0"}}}));
  auto head = flatten(conn);
  CHECK(head.find("Connection: close") != std::string::npos);
  conn.finish_response();
  CHECK(conn.closing());
}

TEST_CASE("streaming: the peer's EOF mid-body fails the stream") {
  FixedDate date;
  http::Connection conn(StreamHarness::streaming(), date);
  conn.receive("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nab");
  auto req = conn.take_request();
  conn.receive_eof();
  CHECK(req->stream->error() == std::errc::connection_aborted);
}

TEST_CASE("streaming: the connection going away fails a stream a reader may wait on") {
  FixedDate date;
  std::shared_ptr<core::StreamBuffer> stream;
  {
    http::Connection conn(StreamHarness::streaming(), date);
    conn.receive("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nab");
    stream = conn.take_request()->stream;
  }
  std::uint64_t length = 0;
  CHECK(stream->wait_complete(length) == std::errc::connection_aborted);
}

TEST_CASE("bytes after EOF or while closing are ignored") {
  Harness h;
  h.conn.receive_eof();
  CHECK(h.conn.closing());
  h.conn.receive("GET / HTTP/1.1\r\n\r\n");
  CHECK_FALSE(h.conn.has_request());
  CHECK(h.out().empty());
}

// --- records for the access log -------------------------------------------------------------

http::ConnectionSettings recording() {
  http::ConnectionSettings s;
  s.parser.max_body_bytes = 10;
  s.parser.temp_dir = temp_dir();
  s.record_responses = true;
  return s;
}

TEST_CASE("records: one per response, with the request's line, fields and the output end") {
  FixedDate date;
  http::Connection conn(recording(), date);
  conn.receive(
      "GET /a?b HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\nUser-Agent: agent\r\n"
      "Referer: http://r/\r\nX-Forwarded-For: 2.2.2.2\r\n\r\n");
  REQUIRE(conn.has_request());
  (void)conn.take_request();
  CHECK(conn.take_records().empty());  // nothing until the response ends
  REQUIRE(!conn.start_response({"201 Created", {{"Transfer-Encoding", "chunked"}}}));
  conn.write_body(std::string_view("hello"));
  conn.write_body(std::string_view("!!"));
  conn.finish_response();
  std::string wire = flatten(conn);
  auto records = conn.take_records();
  REQUIRE(records.size() == 1);
  const core::AccessRecord& r = records[0].record;
  CHECK(r.request_line == "GET /a?b HTTP/1.1");
  CHECK(r.method == "GET");
  CHECK(r.target == "/a?b");
  CHECK(r.protocol == "HTTP/1.1");
  CHECK(r.status == 201);
  CHECK(r.body_bytes == 7);  // the body, without the chunk framing
  CHECK(r.forwarded_for == std::optional<std::string>("1.1.1.1, 2.2.2.2"));
  CHECK(r.user_agent == std::optional<std::string>("agent"));
  CHECK(r.referer == std::optional<std::string>("http://r/"));
  CHECK(records[0].output_end == wire.size());
  CHECK(conn.take_records().empty());

  // A second response on the same connection ends further on; absent fields stay unset.
  conn.receive("HEAD /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  (void)conn.take_request();
  REQUIRE(!conn.start_response({"200 OK", {{"Content-Length", "5"}}}));
  conn.write_body(std::string_view("hello"));
  conn.finish_response();
  wire += flatten(conn);
  records = conn.take_records();
  REQUIRE(records.size() == 1);
  CHECK(records[0].record.request_line == "HEAD /b HTTP/1.0");
  CHECK(records[0].record.body_bytes == 0);  // HEAD: no body sent
  CHECK_FALSE(records[0].record.forwarded_for);
  CHECK_FALSE(records[0].record.user_agent);
  CHECK(records[0].output_end == wire.size());
}

TEST_CASE("records: refused requests are recorded with their status and raw request line") {
  FixedDate date;
  SUBCASE("a malformed head: the line as received") {
    http::Connection conn(recording(), date);
    conn.receive("\r\nGET /\x01 HTTP/1.1\r\n\r\n");
    std::string wire = flatten(conn);
    auto records = conn.take_records();
    REQUIRE(records.size() == 1);
    CHECK(records[0].record.status == 400);
    CHECK(records[0].record.request_line == "GET /\x01 HTTP/1.1");
    CHECK(records[0].record.method.empty());
    CHECK(records[0].output_end == wire.size());
    CHECK(records[0].record.body_bytes == wire.size() - wire.find("\r\n\r\n") - 4);
  }
  SUBCASE("a body over max_request_body_size: 413") {
    http::Connection conn(recording(), date);
    conn.receive("POST /up HTTP/1.1\r\nContent-Length: 11\r\n\r\n");
    auto records = conn.take_records();
    REQUIRE(records.size() == 1);
    CHECK(records[0].record.status == 413);
    CHECK(records[0].record.request_line == "POST /up HTTP/1.1");
  }
  SUBCASE("the application failed before its head: the error response") {
    http::Connection conn(recording(), date);
    conn.receive("GET /x HTTP/1.1\r\n\r\n");
    (void)conn.take_request();
    conn.fail_response(500, "boom");
    auto records = conn.take_records();
    REQUIRE(records.size() == 1);
    CHECK(records[0].record.status == 500);
    CHECK(records[0].record.request_line == "GET /x HTTP/1.1");
    CHECK(records[0].record.body_bytes > 0);
  }
  SUBCASE("a response cut short: recorded as it stands when abandoned, once") {
    http::Connection conn(recording(), date);
    conn.receive("GET /x HTTP/1.1\r\n\r\n");
    (void)conn.take_request();
    REQUIRE(!conn.start_response({"200 OK", {{"Content-Length", "10"}}}));
    conn.write_body(std::string_view("abc"));
    conn.abandon();
    conn.abandon();
    auto records = conn.take_records();
    REQUIRE(records.size() == 1);
    CHECK(records[0].record.status == 200);
    CHECK(records[0].record.body_bytes == 3);
  }
}

TEST_CASE("records: none without record_responses") {
  Harness h;
  h.conn.receive("GET / HTTP/1.1\r\n\r\n");
  (void)h.take();
  h.respond("200 OK", {{"Content-Length", "2"}}, "ok");
  h.conn.receive("BAD\x01\r\n\r\n");
  CHECK(h.conn.take_records().empty());
}

}  // namespace
}  // namespace waitron::test

TEST_CASE("reading_head: from a head's first byte until it is complete (the slowloris deadline)") {
  waitron::test::FixedDate date;
  waitron::http::Connection conn(waitron::http::ConnectionSettings{}, date);
  CHECK_FALSE(conn.reading_head());
  conn.receive("\r\n");  // leading empty lines are not a message yet
  CHECK_FALSE(conn.reading_head());
  conn.receive("GET / HT");
  CHECK(conn.reading_head());
  conn.receive("TP/1.1\r\nHost: x\r\n");
  CHECK(conn.reading_head());
  conn.receive("Content-Length: 3\r\n\r\n");
  CHECK_FALSE(conn.reading_head());  // the body is not the head: only silence cuts it
  conn.receive("abc");
  CHECK(conn.has_request());
  CHECK_FALSE(conn.reading_head());
}
