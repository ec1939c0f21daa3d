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

// Zero-copy bytes whose owner the test watches (its use_count()).
ResponseEvent shared_of(std::shared_ptr<int> owner) {
  ResponseEvent e;
  e.kind = ResponseEvent::Kind::shared;
  e.shared = waitron::http::SharedBytes{"abc", std::move(owner)};
  return e;
}

}  // namespace

TEST_CASE("events arrive in order, with one notification per batch") {
  CountingNotifier n;
  auto pipe = std::make_shared<ResponsePipe>(n, 1 << 20);
  pipe->push(bytes("a"));
  pipe->push(bytes("b"));
  CHECK(n.calls == 1);
  auto events = std::move(pipe->take());
  REQUIRE(events.size() == 2);
  CHECK(events[0].bytes == "a");
  CHECK(events[1].bytes == "b");
  pipe->push(bytes("c"));
  CHECK(n.calls == 2);
}

TEST_CASE("a head's first bytes count toward the high watermark") {
  CountingNotifier n;
  auto pipe = std::make_shared<ResponsePipe>(n, 10);
  ResponseEvent start;
  start.kind = ResponseEvent::Kind::start;
  start.bytes = std::string(8, 'x');
  pipe->push(std::move(start));
  pipe->push(bytes(std::string(2, 'y')));
  CHECK(pipe->wait_for_room());  // 10 <= 10: no wait
  std::atomic<bool> released{false};
  std::thread producer([&] {
    pipe->push(bytes("z"));  // 11 > 10
    CHECK(pipe->wait_for_room());
    released = true;
  });
  for (int i = 0; i < 1000; ++i) std::this_thread::yield();
  CHECK_FALSE(released.load());
  pipe->sent(8);
  producer.join();
  CHECK(released.load());
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

TEST_CASE("take() trades two vectors, so a pipe in use allocates no more") {
  CountingNotifier n;
  auto pipe = std::make_shared<ResponsePipe>(n, 1 << 20);
  for (int round = 0; round < 3; ++round) {
    pipe->push(bytes("a"));
    pipe->push(bytes("b"));
    pipe->push(bytes("c"));
    std::vector<ResponseEvent>& taken = pipe->take();
    REQUIRE(taken.size() == 3);
    CHECK(taken[2].bytes == "c");
  }
  // After the vectors grew, their buffers only change places.
  const ResponseEvent* first = pipe->take().data();
  pipe->push(bytes("d"));
  const ResponseEvent* second = pipe->take().data();
  CHECK(second != first);
  pipe->push(bytes("e"));
  std::vector<ResponseEvent>& third = pipe->take();
  CHECK(third.data() == first);
  REQUIRE(third.size() == 1);
  CHECK(third[0].bytes == "e");
}

TEST_CASE("a pipe is reusable by its sole owner only, and reset() makes it as new") {
  CountingNotifier n;
  std::shared_ptr<ResponsePipe> none;
  CHECK_FALSE(ResponsePipe::reusable(none));
  auto pipe = std::make_shared<ResponsePipe>(n, 4);
  CHECK(ResponsePipe::reusable(pipe));
  {
    std::shared_ptr<ResponsePipe> task = pipe;  // a task or a notification still holds it
    CHECK_FALSE(ResponsePipe::reusable(pipe));
  }
  CHECK(ResponsePipe::reusable(pipe));
  // A used pipe: bytes above the watermark, a pending notification, the client gone.
  pipe->push(bytes("0123456789"));
  pipe->mark_peer_closed();
  pipe->owner = &n;
  pipe->disconnect();
  CHECK(pipe->disconnected());
  pipe->reset();
  CHECK_FALSE(pipe->disconnected());
  CHECK_FALSE(pipe->peer_closed());
  CHECK(pipe->owner == nullptr);
  CHECK(pipe->take().empty());
  CHECK(pipe->wait_for_room());  // the 10 bytes no longer count against the watermark
  const int before = n.calls;
  pipe->push(bytes("x"));  // notifies again: no notification is outstanding
  CHECK(n.calls == before + 1);
  REQUIRE(pipe->take().size() == 1);
}

TEST_CASE("release_taken() lets go of the events left after take() at once") {
  CountingNotifier n;
  auto pipe = std::make_shared<ResponsePipe>(n, 1 << 20);
  auto owner = std::make_shared<int>(7);
  pipe->push(bytes("a"));
  pipe->push(shared_of(owner));
  REQUIRE(pipe->take().size() == 2);
  CHECK(owner.use_count() == 2);  // still held by the taken events
  pipe->release_taken();
  CHECK(owner.use_count() == 1);
  CHECK(pipe->take().empty());
}

TEST_CASE("reset() on a pipe nobody else holds releases the events never taken") {
  CountingNotifier n;
  auto pipe = std::make_shared<ResponsePipe>(n, 1 << 20);
  auto owner = std::make_shared<int>(7);
  pipe->push(shared_of(owner));
  CHECK(owner.use_count() == 2);
  REQUIRE(ResponsePipe::reusable(pipe));
  pipe->reset();
  CHECK(owner.use_count() == 1);
  CHECK(pipe->take().empty());
}

TEST_CASE("a one-thread pipe serves as a locked one and never waits for room") {
  // Inline mode: the thread that would make room is the one pushing, so waiting would hang.
  CountingNotifier n;
  auto pipe = std::make_shared<ResponsePipe>(n, 4, true);
  CHECK(pipe->one_thread());
  pipe->push(bytes("0123456789"));
  pipe->push(bytes("abc"));
  CHECK(pipe->wait_for_room());  // 13 bytes above a watermark of 4: a locked pipe would wait
  CHECK(n.calls == 1);
  std::vector<ResponseEvent>& taken = pipe->take();
  REQUIRE(taken.size() == 2);
  CHECK(taken[1].bytes == "abc");
  pipe->sent(13);
  pipe->disconnect();
  CHECK_FALSE(pipe->wait_for_room());
  pipe->push(bytes("late"));  // dropped
  CHECK(pipe->take().empty());
}
