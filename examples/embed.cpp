// Embedding waitron in a program that runs its own libuv loop.
//
// The host owns the loop and a timer of its own; waitron serves on the same loop, with its
// own application threads. A client thread makes one request, then asks the loop (through a
// uv_async_t) to shut everything down. The program checks that the loop ends with no handle
// left (uv_loop_close() returns 0) and exits 0.
//
// Build against an installed waitron:
//   c++ -std=c++20 embed.cpp $(pkg-config --cflags --libs waitron) -o embed
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include <waitron/server.hpp>

namespace {

std::atomic<int> ticks{0};

// A blocking HTTP/1.0 GET against 127.0.0.1:port; returns the whole response.
std::string http_get(int port, const char* path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string req = std::string("GET ") + path + " HTTP/1.0\r\n\r\n";
    if (::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

}  // namespace

int main() {
  uv_loop_t loop;
  uv_loop_init(&loop);

  // The host's own work: a timer ticking every 10 ms.
  uv_timer_t timer;
  uv_timer_init(&loop, &timer);
  uv_timer_start(
      &timer, [](uv_timer_t*) { ++ticks; }, 10, 10);

  waitron::Adjustments adj;
  adj.listen = {{"127.0.0.1", "0"}};
  adj.threads = 2;
  auto app = waitron::make_app([](waitron::Request&, waitron::Response& res) {
    std::string body = "ticks so far: " + std::to_string(ticks.load()) + "\n";
    res.start("200 OK",
              {{"Content-Type", "text/plain"}, {"Content-Length", std::to_string(body.size())}});
    res.write(body);
  });
  waitron::Server server(&loop, adj, app);
  server.start();
  int port = std::stoi(server.addresses().at(0).port);

  // Shutting down from another thread goes through a uv_async_t: the only libuv call that is
  // safe off the loop thread.
  struct Shutdown {
    uv_async_t async;
    waitron::Server* server;
    uv_timer_t* timer;
  } shutdown{{}, &server, &timer};
  uv_async_init(&loop, &shutdown.async, [](uv_async_t* a) {
    auto* s = static_cast<Shutdown*>(a->data);
    uv_timer_stop(s->timer);
    uv_close(reinterpret_cast<uv_handle_t*>(s->timer), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(a), nullptr);
    s->server->close([] { std::puts("server closed"); });
  });
  shutdown.async.data = &shutdown;

  std::string response;
  std::thread client([&] {
    response = http_get(port, "/");
    uv_async_send(&shutdown.async);
  });
  uv_run(&loop, UV_RUN_DEFAULT);
  client.join();

  std::fputs(response.c_str(), stdout);
  int rc = uv_loop_close(&loop);
  std::printf("uv_loop_close: %d\n", rc);
  bool ok = rc == 0 && response.rfind("HTTP/1.0 200 OK\r\n", 0) == 0 &&
            response.find("ticks so far: ") != std::string::npos;
  return ok ? 0 : 1;
}
