// A Channel on a real loop, over a socketpair, with a real WorkQueue and a fake host whose
// "application" pushes response events from a pool thread, as the server does.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <thread>

#include "net/channel.hpp"
#include "work/work_queue.hpp"

using namespace waitron;
using namespace waitron::net;
using work::ResponseEvent;
using work::ResponsePipe;

namespace {

struct FixedDate final : http::DateSource {
  std::string_view http_date() override { return "Sun, 06 Nov 1994 08:49:37 GMT"; }
};

using FakeApp = std::function<void(http::IncomingRequest&, ResponsePipe&)>;

// Makes a socketpair end blocking, with a receive timeout so a failing test cannot hang.
void make_blocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  REQUIRE(::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0);
}

void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Reads until the peer closes (or the timeout); returns everything.
std::string read_to_close(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

// Reads until `needle` has been seen `times` times.
std::string read_until(int fd, std::string_view needle, int times = 1) {
  std::string out;
  char buf[4096];
  auto count = [&] {
    int c = 0;
    for (std::size_t p = out.find(needle); p != std::string::npos; p = out.find(needle, p + 1)) ++c;
    return c;
  };
  while (count() < times) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// A keep-alive client: `requests` GETs one after the other on one connection, each answered
// (with its target as the body) before the next, then its end of stream.
void keep_alive_client(int fd, int requests) {
  for (int i = 0; i < requests; ++i) {
    const std::string target = "/" + std::to_string(i);
    send_all(fd, "GET " + target + " HTTP/1.1\r\n\r\n");
    read_until(fd, "\r\n\r\n" + target);
  }
  ::shutdown(fd, SHUT_WR);
  read_to_close(fd);
}

void respond(ResponsePipe& pipe, std::string status, std::string body) {
  ResponseEvent start;
  start.kind = ResponseEvent::Kind::start;
  start.head = {std::move(status), {{"Content-Length", std::to_string(body.size())}}};
  pipe.push(std::move(start));
  ResponseEvent bytes;
  bytes.kind = ResponseEvent::Kind::bytes;
  bytes.bytes = std::move(body);
  pipe.push(std::move(bytes));
  pipe.push(ResponseEvent{});
}

struct Fixture final : ChannelHost {
  uv_loop_t loop{};
  FixedDate date;
  ChannelContext ctx;
  std::vector<char> buffer = std::vector<char>(8192);
  std::unique_ptr<work::WorkQueue> queue;
  std::unique_ptr<Channel> channel;
  FakeApp app;
  int client = -1;
  std::atomic<bool> channel_gone{false};

  // threads = 0: the application runs on the loop thread (inline mode).
  explicit Fixture(FakeApp a, unsigned threads = 1) : app(std::move(a)) {
    REQUIRE(uv_loop_init(&loop) == 0);
    queue = std::make_unique<work::WorkQueue>(&loop, threads, [](std::shared_ptr<ResponsePipe> p) {
      if (auto* ch = static_cast<Channel*>(p->owner)) ch->on_pipe_ready(*p);
    });
    REQUIRE(queue->start() == 0);
    ctx.loop = &loop;
    ctx.host = this;
    ctx.notifier = queue.get();
    ctx.dates = &date;
    ctx.read_buffer = std::span<char>(buffer);
    ctx.connection.parser.max_body_bytes = 1000;
    ctx.outbuf_high_watermark = 64 * 1024;
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    client = fds[1];
    make_blocking(client);
    channel =
        std::make_unique<Channel>(ctx, core::UniqueFd(fds[0]), work::Peer{"localhost", {}, "test"});
    REQUIRE(channel->start() == 0);
  }
  ~Fixture() override {
    if (client >= 0) ::close(client);
  }

  void submit(Channel&, std::shared_ptr<http::IncomingRequest> request,
              std::shared_ptr<ResponsePipe> pipe) override {
    auto shared = std::move(request);
    queue->submit([this, shared, pipe] { app(*shared, *pipe); });
  }
  void channel_closed(Channel&) noexcept override {
    channel_gone = true;
    queue->stop();
    queue->close(nullptr);
  }

  // Runs the loop while `client_side` talks to the channel from another thread.
  void run(const std::function<void(int)>& client_side) {
    std::thread t([&] { client_side(client); });
    uv_run(&loop, UV_RUN_DEFAULT);
    t.join();
    channel.reset();
    CHECK(uv_loop_close(&loop) == 0);
  }
};

}  // namespace

TEST_CASE(
    "pipelined requests are answered in order, then the connection ends at the client's EOF") {
  Fixture f([](http::IncomingRequest& req, ResponsePipe& pipe) {
    respond(pipe, "200 OK", req.head.target);
  });
  std::string got;
  f.run([&](int fd) {
    send_all(fd, "GET /one HTTP/1.1\r\n\r\nGET /two HTTP/1.1\r\n\r\n");
    got = read_until(fd, "\r\n\r\n/", 2);
    ::shutdown(fd, SHUT_WR);
    got += read_to_close(fd);
  });
  CHECK(got.find("/one") < got.find("/two"));
  CHECK(got.find("/two") != std::string::npos);
  CHECK(f.channel_gone);
}

TEST_CASE("a head's event may carry the body's first bytes; dropped when the head fails") {
  // Connection: close after each so that the whole answer is read to the close.
  Fixture f([](http::IncomingRequest& req, ResponsePipe& pipe) {
    ResponseEvent start;
    start.kind = ResponseEvent::Kind::start;
    const std::string length = req.head.target == "/bad" ? "abc" : "11";
    start.head = {"200 OK", {{"Content-Length", length}}};
    start.bytes = "hello ";
    pipe.push(std::move(start));
    ResponseEvent rest;
    rest.kind = ResponseEvent::Kind::bytes;
    rest.bytes = "world";
    pipe.push(std::move(rest));
    pipe.push(ResponseEvent{});
  });
  std::string good, bad;
  f.run([&](int fd) {
    send_all(fd, "GET /good HTTP/1.1\r\n\r\nGET /bad HTTP/1.1\r\n\r\n");
    ::shutdown(fd, SHUT_WR);
    good = read_to_close(fd);
  });
  const std::size_t second = good.find("HTTP/1.1 500");
  REQUIRE(second != std::string::npos);
  bad = good.substr(second);
  good.resize(second);
  CHECK(good.find("HTTP/1.1 200 OK\r\n") == 0);
  CHECK(good.ends_with("\r\n\r\nhello world"));
  CHECK(bad.find("hello") == std::string::npos);
  CHECK(bad.find("world") == std::string::npos);
}

TEST_CASE("large bodies read straight into memory arrive whole, and a pipelined request follows") {
  // Each body's bytes after its first read go into the body's own memory (recv_bytes is
  // 8 KiB here); what follows a body in the same send must still parse as the next request.
  auto pattern = [](std::size_t n, char seed) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + (i * 7) % 251);
    return s;
  };
  const std::string first = pattern(300 * 1024, 'a'), second = pattern(70 * 1024 + 3, 'q');
  Fixture f([&](http::IncomingRequest& req, ResponsePipe& pipe) {
    std::string body(static_cast<std::size_t>(req.body.size()), '\0');
    std::size_t copied = 0;
    bool read = !req.body.peek(0, std::span<char>(body.data(), body.size()), copied);
    bool whole = read && copied == body.size() && (body == first || body == second);
    respond(pipe, "200 OK",
            req.head.target + (body.empty() ? " empty"
                               : whole      ? " whole"
                                            : " BAD"));
  });
  f.ctx.connection.parser.max_body_bytes = 1 << 20;
  const std::string sent = "POST /1 HTTP/1.1\r\nContent-Length: " + std::to_string(first.size()) +
                           "\r\n\r\n" + first +
                           "POST /2 HTTP/1.1\r\nContent-Length: " + std::to_string(second.size()) +
                           "\r\n\r\n" + second + "GET /3 HTTP/1.1\r\n\r\n";
  std::string got;
  f.run([&](int fd) {
    send_all(fd, sent);
    got = read_until(fd, "\r\n\r\n/", 3);
    ::shutdown(fd, SHUT_WR);
    got += read_to_close(fd);
  });
  CHECK(got.find("/1 whole") != std::string::npos);
  CHECK(got.find("/2 whole") != std::string::npos);
  CHECK(got.find("/3 empty") != std::string::npos);
  CHECK(got.find("/1 whole") < got.find("/2 whole"));
  CHECK(f.ctx.bytes_received == sent.size());
  // Past the first 8 KiB read of each request, its body went straight into its memory.
  CHECK(f.ctx.bytes_read_in_place > first.size() + second.size() - 2 * 8192);
  CHECK(f.ctx.bytes_read_in_place <= first.size() + second.size());
}

TEST_CASE("a refused request is answered, and the client still reads it while it keeps sending") {
  Fixture f([](http::IncomingRequest&, ResponsePipe& pipe) { respond(pipe, "200 OK", "no"); });
  std::string got;
  f.run([&](int fd) {
    send_all(fd, "POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
    send_all(fd, std::string(100000, 'x'));  // the server drains it while lingering
    got = read_to_close(fd);
  });
  CHECK(got.rfind("HTTP/1.1 413 Request Entity Too Large\r\n", 0) == 0);
  CHECK(got.find("exceeds max_body of 1000") != std::string::npos);
}

TEST_CASE("the application sees a client that goes away while its request runs") {
  std::atomic<bool> seen{false};
  std::atomic<bool> request_started{false};
  Fixture f([&](http::IncomingRequest&, ResponsePipe& pipe) {
    request_started = true;
    for (int i = 0; i < 5000 && !pipe.peer_closed() && !pipe.disconnected(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    seen = pipe.peer_closed() || pipe.disconnected();
    respond(pipe, "200 OK", "late");
  });
  f.run([&](int fd) {
    send_all(fd, "GET /slow HTTP/1.1\r\n\r\n");
    while (!request_started) std::this_thread::yield();
    ::shutdown(fd, SHUT_RDWR);
  });
  CHECK(seen);
  CHECK(f.channel_gone);
}

TEST_CASE("a client that stops reading holds the application back; leaving releases it") {
  std::atomic<std::uint64_t> written{0};
  std::atomic<bool> released{false};
  Fixture f([&](http::IncomingRequest&, ResponsePipe& pipe) {
    ResponseEvent start;
    start.kind = ResponseEvent::Kind::start;
    start.head = {"200 OK", {}};
    pipe.push(std::move(start));
    for (int i = 0; i < 100000; ++i) {  // up to 6 GiB if nothing held it back
      ResponseEvent e;
      e.kind = ResponseEvent::Kind::bytes;
      e.bytes.assign(64 * 1024, 'z');
      pipe.push(std::move(e));
      written += 64 * 1024;
      if (!pipe.wait_for_room()) break;
    }
    released = true;
    pipe.push(ResponseEvent::of(ResponseEvent::Kind::abort));
  });
  std::uint64_t at_stall = 0;
  f.run([&](int fd) {
    send_all(fd, "GET /big HTTP/1.1\r\n\r\n");
    char buf[1024];
    REQUIRE(::recv(fd, buf, sizeof buf, 0) > 0);
    // Wait for the producer to stall: its count stops moving.
    std::uint64_t last = ~0ull;
    while (written.load() != last) {
      last = written.load();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    at_stall = last;
    ::shutdown(fd, SHUT_RDWR);
  });
  // Socket buffers plus the 64 KiB watermark plus one write: far below what it would write.
  CHECK(at_stall < 16u * 1024 * 1024);
  CHECK(released);
}

TEST_CASE("regression: a server shutdown closes an idle connection without lingering") {
  Fixture f([](http::IncomingRequest& req, ResponsePipe& pipe) {
    respond(pipe, "200 OK", req.head.target);
  });
  uv_async_t shutdown;
  uv_async_init(&f.loop, &shutdown, [](uv_async_t* h) {
    uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
    static_cast<Channel*>(h->data)->close_when_done();
  });
  shutdown.data = f.channel.get();
  std::atomic<bool> closed_while_client_open{false};
  f.run([&](int fd) {
    send_all(fd, "GET /idle HTTP/1.1\r\n\r\n");
    read_until(fd, "/idle");
    uv_async_send(&shutdown);
    // The client keeps its socket open: a lingering close would wait for it.
    for (int i = 0; i < 5000 && !f.channel_gone; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    closed_while_client_open = f.channel_gone.load();
    ::shutdown(fd, SHUT_RDWR);  // lets a lingering channel end, so a regression fails, not hangs
  });
  CHECK(closed_while_client_open);
}

TEST_CASE("a keep-alive connection keeps its poll mask from one request to the next") {
  Fixture f([](http::IncomingRequest& req, ResponsePipe& pipe) {
    respond(pipe, "200 OK", req.head.target);
  });
  f.run([](int fd) { keep_alive_client(fd, 20); });
  // Readable and hang-up interest stay in the mask while a request runs, so a request costs
  // no epoll_ctl; the exact mask changed it twice per request (40 times here). What is left:
  // the start, hang-up interest for the first request, and the close.
  CHECK(f.ctx.poll_changes <= 4);
}

TEST_CASE("an idle keep-alive connection gives its exchange back between requests") {
  Fixture f([](http::IncomingRequest& req, ResponsePipe& pipe) {
    respond(pipe, "200 OK", req.head.target);
  });
  f.run([](int fd) { keep_alive_client(fd, 20); });
  // One exchange served all 20 requests, and the channel held none while idle: when the
  // client's end of stream came it had given it back to the spares (a channel keeping its
  // exchange takes it to its grave).
  CHECK(f.ctx.exchanges_created == 1);
  CHECK(f.ctx.spare_exchanges.size() == 1);
}

TEST_CASE("a keep-alive connection serves its requests with one response pipe") {
  // Inline, the task lets go of its pipe before the response is sent, so each request finds
  // the last one's pipe free for reuse: one pipe for 20 requests, none allocated per request.
  int served = 0;
  Fixture f(
      [&](http::IncomingRequest& req, ResponsePipe& pipe) {
        ++served;
        CHECK_FALSE(pipe.disconnected());
        respond(pipe, "200 OK", req.head.target);
      },
      0);
  f.run([](int fd) { keep_alive_client(fd, 20); });
  CHECK(served == 20);
  CHECK(f.ctx.pipes_created == 1);
}

TEST_CASE("a context of one-thread pipes (inline mode) gives its tasks pipes without locks") {
  for (bool one_thread : {false, true}) {
    int seen = 0;
    Fixture f(
        [&](http::IncomingRequest& req, ResponsePipe& pipe) {
          seen += pipe.one_thread() == one_thread;
          respond(pipe, "200 OK", req.head.target);
        },
        0);
    f.ctx.one_thread_pipes = one_thread;
    f.run([](int fd) { keep_alive_client(fd, 3); });
    CHECK(seen == 3);
  }
}

TEST_CASE("an exchange that grew large buffers is freed, not kept as a spare") {
  Fixture f([](http::IncomingRequest& req, ResponsePipe& pipe) {
    respond(pipe, "200 OK", req.head.target);
  });
  f.run([&](int fd) {
    // A 100 KiB field: the parser's head buffer grows to hold it.
    send_all(fd, "GET /big HTTP/1.1\r\nX-Big: " + std::string(100 * 1024, 'b') + "\r\n\r\n");
    read_until(fd, "\r\n\r\n/big");
    ::shutdown(fd, SHUT_WR);
    read_to_close(fd);
  });
  CHECK(f.ctx.exchanges_created == 1);
  CHECK(f.ctx.spare_exchanges.empty());
}

TEST_CASE("regression: a client half-closing while its response waits does not spin the loop") {
  // The client stops reading a large response and shuts down its sending side. Its end of
  // stream stays readable; had the lazy mask kept readable and hang-up interest, a
  // level-triggered poll would wake the loop continuously while the response waits.
  Fixture f([](http::IncomingRequest&, ResponsePipe& pipe) {
    ResponseEvent start;
    start.kind = ResponseEvent::Kind::start;
    start.head = {"200 OK", {{"Content-Length", std::to_string(64 * 64 * 1024)}}};
    pipe.push(std::move(start));
    for (int i = 0; i < 64; ++i) {
      ResponseEvent e;
      e.kind = ResponseEvent::Kind::bytes;
      e.bytes.assign(64 * 1024, 'h');
      pipe.push(std::move(e));
      if (!pipe.wait_for_room()) return;
    }
    pipe.push(ResponseEvent{});
  });
  std::uint64_t* wakeups = &f.ctx.poll_wakeups;
  std::string got;
  f.run([&](int fd) {
    send_all(fd, "GET /big HTTP/1.1\r\n\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the response stalls
    ::shutdown(fd, SHUT_WR);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a spin would run here
    got = read_to_close(fd);
  });
  CHECK(got.size() > 64u * 64 * 1024);
  // Draining 4 MiB takes some hundreds of writable wake-ups; 300 ms of spinning, millions.
  CHECK(*wakeups < 20000);
}
