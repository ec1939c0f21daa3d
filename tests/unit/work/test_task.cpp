#include <doctest/doctest.h>

#include <cstdlib>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

#include "core/log.hpp"
#include "support/app_doubles.hpp"
#include "work/task.hpp"

using namespace waitron;
using namespace waitron::work;
using Kind = ResponseEvent::Kind;

namespace {

struct NullNotifier final : PipeNotifier {
  void notify(std::shared_ptr<ResponsePipe>) override {}
};

struct Run {
  std::vector<ResponseEvent> events;
  core::MemoryLogger log;
};

std::shared_ptr<http::IncomingRequest> request(std::string target, std::string body = "") {
  const char* d = std::getenv("WAITRON_TEST_TMPDIR");
  auto r = std::make_shared<http::IncomingRequest>(1 << 20, d ? d : "");
  r->head.method = "POST";
  r->head.target = std::move(target);
  r->head.fields = {{"Content-Length", std::to_string(body.size())}, {"X-A", "1"}};
  REQUIRE(!r->body.append(body));
  r->body_length = body.size();
  return r;
}

void run(Run& out, App& app, std::shared_ptr<http::IncomingRequest> req, bool tracebacks = false) {
  NullNotifier n;
  auto pipe = std::make_shared<ResponsePipe>(n, 1 << 30);
  TaskSettings s;
  s.expose_tracebacks = tracebacks;
  s.logger = &out.log;
  run_task(app, std::move(req), pipe, s, Peer{"127.0.0.1", 1234, "80"});
  out.events = std::move(pipe->take());
}

std::vector<Kind> kinds(const Run& r) {
  std::vector<Kind> k;
  for (auto& e : r.events) k.push_back(e.kind);
  return k;
}

}  // namespace

TEST_CASE("a normal response: the head goes out with the first write, then bytes, then finish") {
  auto app = make_app([](Request& req, Response& res) {
    CHECK(req.method() == "POST");
    CHECK(req.path() == "/p");
    CHECK(req.query() == "q=1");
    CHECK(req.header("x-a") == "1");
    CHECK(req.environ().at("HTTP_X_A") == "1");
    CHECK(req.remote_port() == 1234);
    CHECK(req.body().readline() == "line1\n");
    CHECK(req.body().read(3) == "lin");
    CHECK(req.body().read_all() == "e2");
    CHECK(req.body().remaining() == 0);
    CHECK(req.body().size() == 11);
    char buf[5];
    CHECK(req.body().read_at(6, buf, 5) == 5);
    CHECK(std::string(buf, 5) == "line2");
    CHECK(req.body().read_at(11, buf, 5) == 0);
    CHECK(req.body().contiguous() == std::string_view("line1\nline2"));
    CHECK_FALSE(req.client_disconnected());
    res.start("200 OK", {{"Content-Length", "5"}});
    CHECK_FALSE(res.headers_sent());
    res.write(std::string_view(""));
    CHECK(res.headers_sent());
    res.write(std::string("hello"));
  });
  Run r;
  run(r, *app, request("/p?q=1", "line1\nline2"));
  CHECK(kinds(r) == std::vector<Kind>{Kind::start, Kind::bytes, Kind::finish});
  CHECK(r.events[0].head.status == "200 OK");
  CHECK(r.events[0].bytes.empty());  // the empty write sent the head alone
  CHECK(r.events[1].bytes == "hello");
}

TEST_CASE("the first bytes written go in the head's event, the later ones in their own") {
  auto app = make_app([](Request&, Response& res) {
    res.start("200 OK", {{"Content-Length", "10"}});
    res.write(std::string_view("hello"));
    CHECK(res.headers_sent());
    res.write(std::string("world"));
  });
  Run r;
  run(r, *app, request("/"));
  REQUIRE(kinds(r) == std::vector<Kind>{Kind::start, Kind::bytes, Kind::finish});
  CHECK(r.events[0].head.status == "200 OK");
  CHECK(r.events[0].bytes == "hello");
  CHECK(r.events[1].bytes == "world");
}

TEST_CASE("start() may be called again until the head is sent") {
  auto app = make_app([](Request&, Response& res) {
    res.start("200 OK", {});
    res.start("404 Not Found", {{"X", "y"}});
  });
  Run r;
  run(r, *app, request("/"));
  CHECK(kinds(r) == std::vector<Kind>{Kind::start, Kind::finish});
  CHECK(r.events[0].head.status == "404 Not Found");
}

TEST_CASE("an exception before the head becomes a 500; its text only with expose_tracebacks") {
  auto app = make_app([](Request&, Response&) { throw std::runtime_error("secret detail"); });
  Run hidden;
  run(hidden, *app, request("/x"));
  REQUIRE(kinds(hidden) == std::vector<Kind>{Kind::fail});
  CHECK(hidden.events[0].status == 500);
  CHECK(hidden.events[0].bytes.find("secret") == std::string::npos);
  CHECK(hidden.log.count_containing("Exception while serving /x") == 1);
  Run shown;
  run(shown, *app, request("/x"), true);
  CHECK(shown.events[0].bytes.find("secret detail") != std::string::npos);
}

TEST_CASE("an exception after the head aborts the response") {
  auto app = make_app([](Request&, Response& res) {
    res.start("200 OK", {});
    res.write(std::string_view("partial"));
    throw std::runtime_error("late");
  });
  Run r;
  run(r, *app, request("/"));
  CHECK(kinds(r) == std::vector<Kind>{Kind::start, Kind::abort});
  CHECK(r.events[0].bytes == "partial");
}

TEST_CASE("returning without start(), or writing before it, is a 500") {
  Run none;
  auto silent = make_app([](Request&, Response&) {});
  run(none, *silent, request("/"));
  CHECK(kinds(none) == std::vector<Kind>{Kind::fail});
  Run early;
  auto eager = make_app([](Request&, Response& res) { res.write(std::string_view("x")); });
  run(early, *eager, request("/"));
  CHECK(kinds(early) == std::vector<Kind>{Kind::fail});
}

TEST_CASE("start() checks the head as WSGI does: a field name that is no token is a 500") {
  Run r;
  auto app = make_app([](Request&, Response& res) {
    CHECK_THROWS_AS(res.start("200 OK", {{"Bad Name", "x"}}), ResponseError);
    res.start("200 OK", {{"Bad Name", "x"}});
  });
  run(r, *app, request("/"));
  CHECK(kinds(r) == std::vector<Kind>{Kind::fail});
  CHECK(r.log.count_containing("invalid header name \"Bad Name\"") == 1);
}

TEST_CASE("start() keeps the application's vector of fields: the head is not copied") {
  Run r;
  const Header* given = nullptr;
  auto app = make_app([&](Request&, Response& res) {
    std::vector<Header> fields = {{"Content-Type", "text/plain"}, {"X-Long", std::string(64, 'v')}};
    given = fields.data();
    res.start("200 OK", std::move(fields));
    res.write(std::string_view("x"));
  });
  run(r, *app, request("/"));
  REQUIRE(kinds(r) == std::vector<Kind>{Kind::start, Kind::finish});
  CHECK(r.events[0].head.fields.data() == given);
  CHECK(r.events[0].head.fields[1].value == std::string(64, 'v'));
}

TEST_CASE("a disconnected client makes write() throw; the task logs it and aborts") {
  NullNotifier n;
  auto pipe = std::make_shared<ResponsePipe>(n, 1 << 30);
  pipe->disconnect();
  bool threw = false;
  auto app = make_app([&](Request& req, Response& res) {
    CHECK(req.client_disconnected());
    res.start("200 OK", {});
    try {
      res.write(std::string_view("x"));
    } catch (const ClientDisconnected&) {
      threw = true;
      throw;
    }
  });
  core::MemoryLogger log;
  TaskSettings s;
  s.logger = &log;
  run_task(*app, request("/gone"), pipe, s, Peer{});
  CHECK(threw);
  CHECK(log.count_containing("Client disconnected while serving /gone") == 1);
}

TEST_CASE("send_file() duplicates the descriptor into a file region") {
  const char* d = std::getenv("WAITRON_TEST_TMPDIR");
  std::string path = std::string(d ? d : "/tmp") + "/task-file.txt";
  FILE* f = std::fopen(path.c_str(), "w");
  REQUIRE(f);
  std::fputs("0123456789", f);
  std::fclose(f);
  int fd = ::open(path.c_str(), O_RDONLY);
  std::remove(path.c_str());
  auto app = make_app([&](Request&, Response& res) {
    res.start("200 OK", {});
    res.send_file(fd, 2, 5);
  });
  Run r;
  run(r, *app, request("/"));
  ::close(fd);  // the region has its own descriptor
  REQUIRE(kinds(r) == std::vector<Kind>{Kind::start, Kind::file, Kind::finish});
  char buf[8] = {};
  std::size_t copied = 0;
  REQUIRE(!r.events[1].file.read(0, std::span<char>(buf, 8), copied));
  CHECK(std::string(buf, copied) == "23456");
}

TEST_CASE("any_header() walks the request's fields in order and stops at the first match") {
  std::vector<std::string> seen;
  bool found_x = false;
  bool found_none = true;
  auto app = make_app([&](Request& req, Response& res) {
    found_x = req.any_header([&](std::string_view name, std::string_view value) {
      seen.emplace_back(std::string(name) + "=" + std::string(value));
      return name == "X-A";
    });
    found_none =
        req.any_header([](std::string_view name, std::string_view) { return name == "Absent"; });
    res.start("204 No Content", {});
  });
  Run r;
  run(r, *app, request("/"));
  CHECK(found_x);
  CHECK_FALSE(found_none);
  CHECK(seen == std::vector<std::string>{"Content-Length=0", "X-A=1"});
}

TEST_CASE("any_header()'s default walks headers(), for requests of other implementations") {
  const test::StubRequest listed({{"A", "1"}, {"B", "2"}, {"C", "3"}});
  int calls = 0;
  CHECK(listed.any_header([&](std::string_view name, std::string_view value) {
    ++calls;
    return name == "B" && value == "2";
  }));
  CHECK(calls == 2);
}
