#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>

#include "work/work_queue.hpp"

using namespace waitron::work;

TEST_CASE("jobs run on the pool's threads; pipes come back on the loop thread") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  std::thread::id loop_thread = std::this_thread::get_id();
  std::atomic<int> done{0};
  std::mutex ids_mutex;
  std::set<std::thread::id> ids;
  int ready = 0;
  std::unique_ptr<WorkQueue> queue;
  queue = std::make_unique<WorkQueue>(&loop, 3, [&](std::shared_ptr<ResponsePipe> pipe) {
    CHECK(std::this_thread::get_id() == loop_thread);
    ready += static_cast<int>(pipe->take().size());
    if (ready == 20) {
      queue->stop();
      queue->close(nullptr);
    }
  });
  REQUIRE(queue->start() == 0);
  for (int i = 0; i < 20; ++i) {
    queue->submit([&, q = queue.get()] {
      {
        std::lock_guard lock(ids_mutex);
        ids.insert(std::this_thread::get_id());
      }
      auto pipe = std::make_shared<ResponsePipe>(*q, 1 << 20);
      pipe->push(ResponseEvent{});
      ++done;
    });
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(done == 20);
  CHECK(ready == 20);
  CHECK(ids.count(loop_thread) == 0);
  CHECK(ids.size() >= 1);
  CHECK(ids.size() <= 3);
  CHECK(queue->queue_depth() == 0);
  CHECK(queue->busy_threads() == 0);
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("queue depth and busy threads are readable while jobs wait") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  WorkQueue queue(&loop, 1, [](std::shared_ptr<ResponsePipe>) {});
  REQUIRE(queue.start() == 0);
  std::mutex gate;
  gate.lock();
  std::atomic<bool> started{false};
  queue.submit([&] {
    started = true;
    std::lock_guard hold(gate);
  });
  queue.submit([] {});
  queue.submit([] {});
  while (!started) std::this_thread::yield();
  CHECK(queue.busy_threads() == 1);
  CHECK(queue.queue_depth() == 2);
  gate.unlock();
  queue.stop();  // runs what is queued, then joins
  CHECK(queue.queue_depth() == 0);
  queue.close(nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}
