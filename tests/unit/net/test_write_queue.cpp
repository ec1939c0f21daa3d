#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "net/write_queue.hpp"

using namespace waitron;
using namespace waitron::net;

namespace {

struct SocketPair {
  int a = -1, b = -1;
  UnsentLimit limit;  // a's
  SocketPair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0);
    a = fds[0];
    b = fds[1];
  }
  ~SocketPair() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
  }
  std::string drain() {
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(b, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
};

core::FileRegion region_of(const std::string& content) {
  const char* d = std::getenv("WAITRON_TEST_TMPDIR");
  std::string path = std::string(d ? d : "/tmp") + "/wq-region.bin";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  ::unlink(path.c_str());
  REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
  return core::FileRegion(core::UniqueFd(fd), 0, content.size());
}

}  // namespace

TEST_CASE("byte chunks and file regions go out in order") {
  SocketPair sp;
  WriteQueue q;
  q.push(std::string("head "));
  q.push(std::string("body "));
  q.push(region_of("from-a-file "));
  q.push(std::string("tail"));
  CHECK(q.size() == 26);
  auto r = q.flush(sp.a, sp.limit);
  CHECK(r.error == 0);
  CHECK_FALSE(r.blocked);
  CHECK(r.bytes == 26);
  CHECK(r.memory_bytes == 14);
  CHECK(q.empty());
  CHECK(sp.drain() == "head body from-a-file tail");
}

TEST_CASE("a full socket blocks the queue, which resumes where it stopped") {
  SocketPair sp;
  WriteQueue q;
  std::string big(8 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  q.push(std::string(big));
  auto r = q.flush(sp.a, sp.limit);
  CHECK(r.blocked);
  CHECK(r.bytes < big.size());
  std::string got;
  while (!q.empty()) {
    got += sp.drain();
    auto again = q.flush(sp.a, sp.limit);
    CHECK(again.error == 0);
  }
  got += sp.drain();
  CHECK(got == big);
}

TEST_CASE("a closed peer is an error, not a signal") {
  SocketPair sp;
  ::close(sp.b);
  sp.b = -1;
  WriteQueue q;
  q.push(std::string("x"));
  auto r = q.flush(sp.a, sp.limit);
  CHECK(r.error == EPIPE);
}

TEST_CASE("many small chunks are batched into few writes") {
  SocketPair sp;
  WriteQueue q;
  std::string want;
  for (int i = 0; i < 200; ++i) {
    q.push(std::to_string(i) + ",");
    want += std::to_string(i) + ",";
  }
  auto r = q.flush(sp.a, sp.limit);
  CHECK(r.bytes == want.size());
  CHECK(sp.drain() == want);
}

TEST_CASE("shared chunks go out without a copy; their owner is released once written") {
  SocketPair sp;
  WriteQueue q;
  auto owner = std::make_shared<std::string>("zero-copy bytes");
  std::weak_ptr<std::string> watch = owner;
  q.push(std::string("head "));
  q.push(http::SharedBytes{std::string_view(*owner), std::move(owner)});
  q.push(std::string(" tail"));
  CHECK_FALSE(watch.expired());  // the queue keeps it alive
  auto r = q.flush(sp.a, sp.limit);
  CHECK(r.error == 0);
  CHECK(r.memory_bytes == 25);
  CHECK(sp.drain() == "head zero-copy bytes tail");
  CHECK(watch.expired());
}

namespace {

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

}  // namespace

TEST_CASE("past outbuf_overflow, queued bytes spill to an unnamed file that goes when sent") {
  SocketPair sp;
  std::size_t fds_before = open_fds();
  const char* d = std::getenv("WAITRON_TEST_TMPDIR");
  WriteQueue q(10, d ? d : "");
  q.push(std::string("12345678"));  // 8 bytes in memory
  q.push(std::string("ab"));        // 8 < 10 still waiting: in memory too (10 now)
  q.push(std::string("cdefgh"));    // 10 >= 10 already waiting: spilled
  auto owner = std::make_shared<std::string>("shared!!");
  q.push(http::SharedBytes{std::string_view(*owner), owner});  // spilled too, owner released
  CHECK(q.memory_size() == 10);
  CHECK(q.size() == 24);
  CHECK(owner.use_count() == 1);
  CHECK(open_fds() > fds_before);  // the spill file (and its regions' descriptors)
  auto r = q.flush(sp.a, sp.limit);
  CHECK(r.error == 0);
  CHECK(r.bytes == 24);
  CHECK(r.memory_bytes == 24);  // spilled bytes still count as the application's bytes
  CHECK(sp.drain() == "12345678abcdefghshared!!");
  CHECK(q.empty());
  CHECK(open_fds() == fds_before);
}

TEST_CASE("regression: the spill file goes when the queue empties through a memory chunk") {
  // A large memory chunk, a spilled one behind it, and (once part of the first is sent and
  // the memory held is below outbuf_overflow again) a memory chunk behind the spilled one:
  // the last chunk out is sent with sendmsg, not sendfile, and the file must go then too
  // (an exchange given back to the server's spares would keep it open for good).
  SocketPair sp;
  std::size_t fds_before = open_fds();
  const char* d = std::getenv("WAITRON_TEST_TMPDIR");
  const std::size_t big = 4 * 1024 * 1024;  // more than the socket takes at once
  WriteQueue q(big, d ? d : "");
  q.push(std::string(big, 'a'));
  q.push(std::string("spilled"));  // big >= big waiting: to the file
  CHECK(open_fds() > fds_before);
  auto r = q.flush(sp.a, sp.limit);
  REQUIRE(r.blocked);
  REQUIRE(q.memory_size() < big);
  q.push(std::string("memory"));  // below outbuf_overflow now: stays in memory
  std::string got = sp.drain();
  for (int i = 0; i < 10000 && !q.empty(); ++i) {
    r = q.flush(sp.a, sp.limit);
    REQUIRE(r.error == 0);
    got += sp.drain();
  }
  REQUIRE(q.empty());
  CHECK(got == std::string(big, 'a') + "spilledmemory");
  CHECK(open_fds() == fds_before);
}

TEST_CASE("a string written whole is kept as a spare for the producer, one at a time") {
  SocketPair sp;
  WriteQueue off;  // keeps no spare unless asked
  std::string big(600, 'x');
  off.push(std::move(big));
  REQUIRE(off.flush(sp.a, sp.limit).error == 0);
  CHECK(off.take_spare().capacity() == std::string().capacity());
  CHECK(sp.drain().size() == 600);

  WriteQueue q;
  q.keep_spares(4096);
  std::string first(600, 'a');
  const char* first_memory = first.data();
  std::string second(700, 'b');
  std::string too_large(5000, 'c');
  q.push(std::move(first));
  q.push(std::move(second));
  q.push(std::move(too_large));
  q.push(std::string("short"));  // lives inside the string object: nothing to keep
  auto r = q.flush(sp.a, sp.limit);
  REQUIRE(r.error == 0);
  REQUIRE(q.empty());
  CHECK(sp.drain().size() == 600 + 700 + 5000 + 5);
  std::string spare = q.take_spare();
  CHECK(spare.empty());
  CHECK(spare.data() == first_memory);                           // the first one written, emptied
  CHECK(q.take_spare().capacity() == std::string().capacity());  // one at a time

  // A string the socket took only part of is not given away.
  SocketPair full;
  WriteQueue partial;
  partial.keep_spares(1 << 30);
  std::string huge(8 << 20, 'z');
  partial.push(std::move(huge));
  r = partial.flush(full.a, full.limit);
  REQUIRE(r.blocked);
  CHECK(partial.take_spare().capacity() == std::string().capacity());
}

namespace {

// A connected loopback TCP pair: a, the sender, and b, the reader, both non-blocking;
// reader_buffer > 0 fixes b's receive buffer (the kernel doubles it).
struct TcpPair {
  int a = -1, b = -1;
  UnsentLimit limit;  // a's
  explicit TcpPair(int reader_buffer = 0) {
    int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener, 1) == 0);
    REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    b = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (reader_buffer > 0) {
      REQUIRE(::setsockopt(b, SOL_SOCKET, SO_RCVBUF, &reader_buffer, sizeof reader_buffer) == 0);
    }
    REQUIRE(::connect(b, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    a = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    ::close(listener);
    REQUIRE(a >= 0);
    REQUIRE(::fcntl(b, F_SETFL, O_NONBLOCK) == 0);
  }
  ~TcpPair() {
    ::close(a);
    ::close(b);
  }
  TcpPair(const TcpPair&) = delete;
  TcpPair& operator=(const TcpPair&) = delete;
  // The option as the kernel has it for a.
  bool limit_on() const { return limit.state == UnsentLimit::State::on; }
  int unsent_limit() const {
    int value = -1;
    socklen_t len = sizeof value;
    REQUIRE(::getsockopt(a, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &value, &len) == 0);
    return value;
  }
};

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + i % 23);
  return s;
}

// Reads at most `most` bytes from fd into out, waiting up to 50 ms for the first.
void read_some(int fd, std::string& out, std::size_t most) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 50) <= 0) return;
  char buf[65536];
  ssize_t n = ::read(fd, buf, std::min(most, sizeof buf));
  if (n > 0) out.append(buf, static_cast<std::size_t>(n));
}

// Flushes q to `writer` and reads `reader`, `step` bytes at a time, until q is empty and
// `expected` bytes were read or 20 s have passed; after each flush, `check` looks at the
// queue and the sockets.
template <typename Check>
std::string pump(WriteQueue& q, int writer, UnsentLimit& limit, int reader, std::size_t expected,
                 std::size_t step, Check check) {
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((!q.empty() || got.size() < expected) && std::chrono::steady_clock::now() < deadline) {
    if (!q.empty()) {
      auto r = q.flush(writer, limit);
      REQUIRE(r.error == 0);
      check();
    }
    read_some(reader, got, step);
  }
  return got;
}

}  // namespace

TEST_CASE("a large file region keeps the TCP socket's unsent bytes short, to its last byte") {
  // Small buffers on both sides (the kernel doubles them), so that no flush takes the
  // region's last 128 KiB at once: flushes stop inside them too, where taking the limit off
  // early would show.
  TcpPair tcp(16384);
  int sndbuf = 32768;
  REQUIRE(::setsockopt(tcp.a, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) == 0);
  WriteQueue q;
  const std::string file = pattern(1 << 20);  // more than the socket takes at once
  q.push(std::string("head:"));
  q.push(region_of(file));
  q.push(std::string(":tail"));
  auto r = q.flush(tcp.a, tcp.limit);
  REQUIRE(r.error == 0);
  REQUIRE(r.blocked);
  CHECK(tcp.limit_on());
  CHECK(tcp.unsent_limit() == WriteQueue::kFileUnsentLimit);
  // Read in small steps: the limit stays on while any of the region is queued (more than
  // the tail's 5 bytes), and is off (0, the system's) once the tail's byte chunk was at the
  // front.
  std::size_t checks = 0;
  std::size_t stops_near_end = 0;  // flushes that left less than the limit of the region
  std::string got = pump(q, tcp.a, tcp.limit, tcp.b, 5 + file.size() + 5, 16384, [&] {
    ++checks;
    if (q.size() > 5 && q.size() - 5 < WriteQueue::kFileUnsentLimit) ++stops_near_end;
    if (q.size() > 5) {
      CHECK(tcp.unsent_limit() == WriteQueue::kFileUnsentLimit);
    } else {
      CHECK(tcp.unsent_limit() == 0);
    }
  });
  REQUIRE(q.empty());
  CHECK(checks > 16);
  CHECK(stops_near_end > 0);
  CHECK(tcp.limit.state == UnsentLimit::State::off);
  CHECK(got == "head:" + file + ":tail");
}

TEST_CASE("small file regions and byte chunks leave the socket's unsent limit alone") {
  TcpPair tcp;
  WriteQueue q;
  const std::string small = pattern(WriteQueue::kFileUnsentLimit);  // not more than it
  q.push(region_of(small));  // alone: nothing after it could take a limit off again
  REQUIRE(q.flush(tcp.a, tcp.limit).error == 0);
  CHECK(tcp.unsent_limit() == 0);
  const std::string bytes(4 << 20, 'm');  // large, but copied into the socket when written
  q.push(std::string(bytes));
  std::string got = pump(q, tcp.a, tcp.limit, tcp.b, small.size() + bytes.size(), 65536,
                         [&] { CHECK(tcp.unsent_limit() == 0); });
  REQUIRE(q.empty());
  CHECK(tcp.limit.state == UnsentLimit::State::unchecked);  // never needed
  CHECK(got == small + bytes);
}

TEST_CASE("the unsent limit is the socket's: it follows the socket from queue to queue") {
  // A channel's queue goes to another channel when it rests (net::Exchange): what the
  // queue did to one socket must not be taken for another's state.
  TcpPair x, y;
  WriteQueue first;
  first.push(region_of(pattern(1 << 20)));
  REQUIRE(first.flush(x.a, x.limit).error == 0);
  REQUIRE(x.unsent_limit() == WriteQueue::kFileUnsentLimit);
  std::string on_x = pump(first, x.a, x.limit, x.b, 1 << 20, 65536, [] {});
  REQUIRE(first.empty());
  CHECK(x.unsent_limit() == WriteQueue::kFileUnsentLimit);  // the region was the last

  // The same queue, now another socket's: byte chunks there change nothing.
  first.push(std::string(100000, 'y'));
  REQUIRE(first.flush(y.a, y.limit).error == 0);
  CHECK(y.unsent_limit() == 0);
  CHECK_FALSE(y.limit_on());

  // Another queue on the first socket: its byte chunk takes that socket's limit off.
  WriteQueue second;
  second.push(std::string("next response"));
  REQUIRE(second.flush(x.a, x.limit).error == 0);
  CHECK(x.unsent_limit() == 0);
  CHECK(x.limit.state == UnsentLimit::State::off);
}

TEST_CASE("a socket with an unsent limit of its own keeps it") {
  // As a socket accepted from a listening socket the host set the option on inherits it.
  TcpPair tcp;
  int own = 16384;
  REQUIRE(::setsockopt(tcp.a, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &own, sizeof own) == 0);
  WriteQueue q;
  const std::string file = pattern(1 << 20);
  q.push(region_of(file));
  q.push(std::string("bytes"));
  std::string got = pump(q, tcp.a, tcp.limit, tcp.b, file.size() + 5, 65536,
                         [&] { CHECK(tcp.unsent_limit() == own); });
  REQUIRE(q.empty());
  CHECK(tcp.limit.state == UnsentLimit::State::hands_off);
  CHECK(tcp.unsent_limit() == own);
  CHECK(got == file + "bytes");
}

TEST_CASE("a large file region goes out whole on a socket without an unsent limit (Unix)") {
  SocketPair sp;
  WriteQueue q;
  const std::string file = pattern(8 << 20);
  q.push(region_of(file));
  q.push(region_of(file));
  std::string got = pump(q, sp.a, sp.limit, sp.b, 2 * file.size(), 65536, [] {});
  REQUIRE(q.empty());
  CHECK(sp.limit.state == UnsentLimit::State::hands_off);  // found out at the first region
  CHECK(got == file + file);
}
