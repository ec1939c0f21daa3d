#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "work/response_pipe.hpp"

using namespace waitron::work;

namespace {

struct CountingNotifier final : PipeNotifier {
  std::atomic<int> calls{0};
  void notify(std::shared_ptr<ResponsePipe>) override { ++calls; }
};

ResponseEvent bytes(std::string b) {
  ResponseEvent e;
  e.kind = ResponseEvent::Kind::bytes;
  e.bytes = std::move(b);
  return e;
}

}  // namespace

TEST_CASE("events arrive in order, with one notification per batch") {
  CountingNotifier n;
  auto pipe = std::make_shared<ResponsePipe>(n, 1 << 20);
  pipe->push(bytes("a"));
  pipe->push(bytes("b"));
  CHECK(n.calls == 1);
  auto events = pipe->take();
  REQUIRE(events.size() == 2);
  CHECK(events[0].bytes == "a");
  CHECK(events[1].bytes == "b");
  pipe->push(bytes("c"));
  CHECK(n.calls == 2);
}

TEST_CASE("the producer waits above the high watermark until bytes are sent") {
  CountingNotifier n;
  auto pipe = std::make_shared<ResponsePipe>(n, 10);
  pipe->push(bytes(std::string(8, 'x')));
  CHECK(pipe->wait_for_room());  // 8 <= 10: no wait
  std::atomic<bool> released{false};
  std::thread producer([&] {
    pipe->push(bytes(std::string(8, 'y')));  // 16 > 10
    CHECK(pipe->wait_for_room());
    released = true;
  });
  // The producer cannot pass until the loop side reports sent bytes.
  for (int i = 0; i < 1000 && n.calls < 1; ++i) std::this_thread::yield();
  pipe->sent(4);  // 12: still above
  CHECK_FALSE(released.load());
  pipe->sent(4);  // 8: room
  producer.join();
  CHECK(released.load());
}

TEST_CASE("disconnect wakes a waiting producer and drops later events") {
  CountingNotifier n;
  auto pipe = std::make_shared<ResponsePipe>(n, 1);
  std::atomic<bool> result{true};
  std::thread producer([&] {
    pipe->push(bytes("too much"));
    result = pipe->wait_for_room();
  });
  pipe->disconnect();
  producer.join();
  CHECK_FALSE(result.load());
  CHECK(pipe->disconnected());
  pipe->push(bytes("late"));
  CHECK(pipe->take().empty());
}

TEST_CASE("sent() never underflows the pending count") {
  CountingNotifier n;
  auto pipe = std::make_shared<ResponsePipe>(n, 0);
  pipe->push(bytes("abc"));
  pipe->sent(1000);  // framing bytes counted on the way out
  CHECK(pipe->wait_for_room());
}
