// waitron::Server embedded in a loop the test owns.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <thread>

#include <waitron/server.hpp>

using namespace waitron;

namespace {

std::string get(int port, std::string_view request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

Adjustments local() {
  Adjustments a;
  a.listen = {{"127.0.0.1", "0"}};
  a.threads = 2;
  return a;
}

std::shared_ptr<App> hello(std::string name) {
  return make_app([name](Request& req, Response& res) {
    std::string body = name + " " + std::string(req.path());
    res.start("200 OK", {{"Content-Length", std::to_string(body.size())}});
    res.write(body);
  });
}

LogSink quiet() {
  return [](LogLevel, std::string_view, std::string_view) {};
}

}  // namespace

TEST_CASE("two servers share one loop; after close the loop holds no handle") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  Server a(&loop, local(), hello("a"), quiet());
  Server b(&loop, local(), hello("b"), quiet());
  a.start();
  b.start();
  int pa = std::stoi(a.addresses().at(0).port);
  int pb = std::stoi(b.addresses().at(0).port);
  CHECK(pa != pb);
  CHECK(a.addresses().at(0).url() == "http://127.0.0.1:" + std::to_string(pa));

  std::string ra, rb;
  uv_async_t done;
  struct Ctx {
    Server* a;
    Server* b;
    int closed = 0;
  } ctx{&a, &b};
  uv_async_init(&loop, &done, [](uv_async_t* h) {
    auto* c = static_cast<Ctx*>(h->data);
    uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
    c->a->close([c] { ++c->closed; });
    c->b->close([c] { ++c->closed; });
  });
  done.data = &ctx;
  std::thread client([&] {
    ra = get(pa, "GET /x HTTP/1.0\r\n\r\n");
    rb = get(pb, "GET /y HTTP/1.0\r\n\r\n");
    uv_async_send(&done);
  });
  uv_run(&loop, UV_RUN_DEFAULT);
  client.join();
  CHECK(ra.find("\r\n\r\na /x") != std::string::npos);
  CHECK(rb.find("\r\n\r\nb /y") != std::string::npos);
  CHECK(ctx.closed == 2);
  CHECK(a.stats().requests_served == 1);
  CHECK(a.stats().connections_accepted == 1);
  CHECK(a.stats().connections_open == 0);
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("close() lets a request in flight finish, then closes") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  std::atomic<bool> in_app{false};
  std::atomic<bool> release{false};
  auto app = make_app([&](Request&, Response& res) {
    in_app = true;
    while (!release) std::this_thread::yield();
    res.start("200 OK", {{"Content-Length", "4"}});
    res.write(std::string_view("done"));
  });
  Server s(&loop, local(), app, quiet());
  s.start();
  int port = std::stoi(s.addresses().at(0).port);
  struct Ctx {
    Server* server;
    std::atomic<bool>* release;
  } ctx{&s, &release};
  uv_async_t go;
  uv_async_init(&loop, &go, [](uv_async_t* h) {
    auto* c = static_cast<Ctx*>(h->data);
    uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
    c->server->close();
    *c->release = true;  // only now: close() has run, the request is still in flight
  });
  go.data = &ctx;
  std::string got;
  std::thread client([&] {
    std::thread closer([&] {
      while (!in_app) std::this_thread::yield();
      uv_async_send(&go);  // close while the request runs
    });
    got = get(port, "GET / HTTP/1.1\r\n\r\n");
    closer.join();
  });
  uv_run(&loop, UV_RUN_DEFAULT);
  client.join();
  CHECK(got.find("Connection: close\r\n") != std::string::npos);
  CHECK(got.find("\r\n\r\ndone") != std::string::npos);
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("start() fails cleanly when the address is taken") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  Server first(&loop, local(), hello("1"), quiet());
  first.start();
  Adjustments same = local();
  same.listen = {{"127.0.0.1", first.addresses().at(0).port}};
  Server second(&loop, same, hello("2"), quiet());
  CHECK_THROWS_AS(second.start(), std::system_error);
  second.close();
  first.close();
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("invalid adjustments are refused at construction") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  Adjustments bad = local();
  bad.trusted_proxy_headers = {"x-forwarded-for"};
  CHECK_THROWS_AS(Server(&loop, bad, hello("x"), quiet()), std::invalid_argument);
  CHECK_THROWS_AS(Server(&loop, local(), nullptr, quiet()), std::invalid_argument);
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("close() cuts requests still running after shutdown_timeout; their threads are freed") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  std::atomic<bool> in_app{false};
  std::atomic<bool> released{false};
  auto app = make_app([&](Request&, Response& res) {
    res.start("200 OK", {});
    in_app = true;
    std::string chunk(64 * 1024, 'x');
    try {
      for (;;) res.write(std::string_view(chunk));  // the client never reads
    } catch (const ClientDisconnected&) {
      released = true;
      throw;
    }
  });
  Adjustments adj = local();
  adj.shutdown_timeout = 1;
  Server s(&loop, adj, app, quiet());
  s.start();
  int port = std::stoi(s.addresses().at(0).port);
  uv_async_t go;
  uv_async_init(&loop, &go, [](uv_async_t* h) {
    uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
    static_cast<Server*>(h->data)->close();
  });
  go.data = &s;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  std::thread client([&] {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    std::string_view req = "GET /stuck HTTP/1.1\r\n\r\n";
    REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
    while (!in_app) std::this_thread::yield();
    uv_async_send(&go);  // close while the request is stuck on a client that does not read
  });
  uv_run(&loop, UV_RUN_DEFAULT);  // returns only once the server is closed
  client.join();
  ::close(fd);
  CHECK(released);
  CHECK(uv_loop_close(&loop) == 0);
}

namespace {

std::string temp_path(const char* name) {
  const char* dir = std::getenv("WAITRON_TEST_TMPDIR");
  std::string base = dir && *dir ? dir : "/tmp";
  ::mkdir(base.c_str(), 0700);
  return base + "/" + name + "-" + std::to_string(::getpid());
}

std::string slurp(const std::string& path) {
  std::string out;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    std::fclose(f);
  }
  return out;
}

// Runs `client` on a thread while the loop serves, then closes the server and the loop.
void serve_while(uv_loop_t& loop, Server& s, const std::function<void()>& client) {
  uv_async_t done;
  uv_async_init(&loop, &done, [](uv_async_t* h) {
    uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
    static_cast<Server*>(h->data)->close();
  });
  done.data = &s;
  std::thread t([&] {
    client();
    uv_async_send(&done);
  });
  uv_run(&loop, UV_RUN_DEFAULT);
  t.join();
}

}  // namespace

TEST_CASE("stats count connections, requests and bytes; the access log has one line each") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  Adjustments adj = local();
  std::string log_path = temp_path("server-access.log");
  adj.access_log = log_path;
  adj.access_log_format = "json";
  Server s(&loop, adj, hello("h"), quiet());
  s.start();
  int port = std::stoi(s.addresses().at(0).port);
  const std::string requests[] = {
      "GET /one HTTP/1.0\r\nX-Forwarded-For: 10.1.2.3\r\n\r\n",
      "GET /two HTTP/1.0\r\nUser-Agent: t\"x\r\n\r\n",
      "GET /bad\x01 HTTP/1.0\r\n\r\n",
  };
  std::uint64_t sent = 0, received = 0;
  ServerStats during;
  serve_while(loop, s, [&] {
    for (const std::string& r : requests) {
      received += get(port, r).size();
      sent += r.size();
    }
    during = s.stats();  // from another thread than the loop's
  });
  ServerStats after = s.stats();
  CHECK(during.connections_accepted == 3);
  CHECK(during.requests_served == 2);  // the refused request never reached the application
  CHECK(during.bytes_received == sent);
  CHECK(during.bytes_sent == received);
  CHECK(after.connections_open == 0);
  CHECK(after.requests_in_flight == 0);
  CHECK(after.access_log_lines == 3);
  CHECK(after.access_log_dropped == 0);
  std::string text = slurp(log_path);  // written before close()'s callback
  CHECK(text.find("\"request\":\"GET /one HTTP/1.0\"") != std::string::npos);
  CHECK(text.find("\"x_forwarded_for\":\"10.1.2.3\"") != std::string::npos);
  CHECK(text.find("\"user_agent\":\"t\\\"x\"") != std::string::npos);
  CHECK(text.find("\"request\":\"GET /bad\\u0001 HTTP/1.0\",\"method\":null") != std::string::npos);
  CHECK(text.find("\"status\":400") != std::string::npos);
  CHECK(text.find("\"remote_addr\":\"127.0.0.1\"") != std::string::npos);
  std::remove(log_path.c_str());
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("status_listen: /metrics on its own port; one of the app's addresses is refused") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  Adjustments adj = local();
  adj.status_listen = "127.0.0.1:0";
  Server s(&loop, adj, hello("h"), quiet());
  s.start();
  REQUIRE(s.status_addresses().size() == 1);
  int port = std::stoi(s.addresses().at(0).port);
  int status_port = std::stoi(s.status_addresses().at(0).port);
  CHECK(port != status_port);
  std::string metrics, app_metrics, head;
  serve_while(loop, s, [&] {
    (void)get(port, "GET / HTTP/1.0\r\n\r\n");
    metrics = get(status_port, "GET /metrics HTTP/1.0\r\n\r\n");
    head = get(status_port, "HEAD /metrics HTTP/1.0\r\n\r\n");
    app_metrics = get(port, "GET /metrics HTTP/1.0\r\n\r\n");  // the app's own path
  });
  CHECK(metrics.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
  CHECK(metrics.find("\nwaitron_requests_served_total 1\n") != std::string::npos);
  CHECK(metrics.find("\nwaitron_connections_accepted_total 1\n") != std::string::npos);
  CHECK(head.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
  CHECK(head.find("waitron_") == std::string::npos);
  CHECK(app_metrics.find("\r\n\r\nh /metrics") != std::string::npos);
  CHECK(s.stats().connections_accepted == 2);  // the status listener's are not counted
  CHECK(uv_loop_close(&loop) == 0);

  uv_loop_t loop2;
  REQUIRE(uv_loop_init(&loop2) == 0);
  Adjustments clash = local();
  clash.listen = {{"127.0.0.1", std::to_string(status_port)}};
  clash.status_listen = "127.0.0.1:" + std::to_string(status_port);
  Server refused(&loop2, clash, hello("x"), quiet());
  CHECK_THROWS_WITH_AS(refused.start(),
                       doctest::Contains("is one of the application's listen addresses"),
                       std::invalid_argument);
  refused.close();
  uv_run(&loop2, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop2) == 0);
}
TEST_CASE("inline mode (threads=0): the app runs on the loop thread and never waits for room") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  const std::thread::id loop_thread = std::this_thread::get_id();
  std::atomic<int> on_loop{0};
  auto app = make_app([&](Request& req, Response& res) {
    if (std::this_thread::get_id() == loop_thread) ++on_loop;
    if (req.path() == "/big") {
      // Far past outbuf_high_watermark: with threads the app would wait for the client.
      res.start("200 OK", {{"Content-Length", std::to_string(64 * 65536)}});
      std::string chunk(65536, 'b');
      for (int i = 0; i < 64; ++i) res.write(std::string_view(chunk));
      return;
    }
    std::string body = "inline " + std::string(req.path());
    res.start("200 OK", {{"Content-Length", std::to_string(body.size())}});
    res.write(body);
  });
  Adjustments adj = local();
  adj.threads = 0;
  adj.outbuf_high_watermark = 65536;
  Server s(&loop, adj, app, quiet());
  s.start();
  const int port = std::stoi(s.addresses().at(0).port);
  uv_async_t done;
  uv_async_init(&loop, &done, [](uv_async_t* h) {
    uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
    static_cast<Server*>(h->data)->close();
  });
  done.data = &s;
  std::string pipelined, big;
  std::thread client([&] {
    pipelined = get(port,
                    "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    big = get(port, "GET /big HTTP/1.0\r\n\r\n");
    uv_async_send(&done);
  });
  uv_run(&loop, UV_RUN_DEFAULT);
  client.join();
  const auto a = pipelined.find("inline /a");
  const auto b = pipelined.find("inline /b");
  const auto c = pipelined.find("inline /c");
  CHECK(a != std::string::npos);
  CHECK(b != std::string::npos);
  CHECK(c != std::string::npos);
  CHECK((a < b && b < c));
  CHECK(big.size() > 64 * 65536);
  CHECK(big.substr(big.size() - 65536) == std::string(65536, 'b'));
  CHECK(on_loop == 4);
  CHECK(s.stats().requests_served == 4);
  CHECK(uv_loop_close(&loop) == 0);
}
