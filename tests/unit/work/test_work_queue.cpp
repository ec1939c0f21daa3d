#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <set>
#include <thread>
#include <vector>

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
  // Jobs submitted on the loop thread wake the threads at the loop's check phase.
  while (!started) {
    uv_run(&loop, UV_RUN_NOWAIT);
    std::this_thread::yield();
  }
  CHECK(queue.busy_threads() == 1);
  CHECK(queue.queue_depth() == 2);
  gate.unlock();
  queue.stop();  // runs what is queued, then joins
  CHECK(queue.queue_depth() == 0);
  queue.close(nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("inline mode: jobs run at once on the loop thread; pipes come back in the same tick") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  const std::thread::id loop_thread = std::this_thread::get_id();
  std::vector<int> order;
  std::unique_ptr<WorkQueue> queue;
  std::shared_ptr<ResponsePipe> second;
  queue = std::make_unique<WorkQueue>(&loop, 0, [&](std::shared_ptr<ResponsePipe> pipe) {
    CHECK(std::this_thread::get_id() == loop_thread);
    order.push_back(static_cast<int>(pipe->take().size()));
    if (order.size() == 1) {
      // A delivery that submits again (a pipelined request) is delivered in the same pass.
      queue->submit([&, q = queue.get()] {
        second = std::make_shared<ResponsePipe>(*q, 1);
        second->push(ResponseEvent{});
        second->push(ResponseEvent{});
      });
    }
  });
  REQUIRE(queue->start() == 0);
  CHECK(queue->inline_mode());
  bool ran = false;
  std::shared_ptr<ResponsePipe> first;
  queue->submit([&, q = queue.get()] {
    CHECK(std::this_thread::get_id() == loop_thread);
    CHECK(queue->busy_threads() == 1);
    first = std::make_shared<ResponsePipe>(*q, 1);
    first->push(ResponseEvent{});
    ran = true;
  });
  CHECK(ran);            // submit() returned after the job
  CHECK(order.empty());  // but the caller was not re-entered
  CHECK(queue->busy_threads() == 0);
  // One loop iteration delivers them, without blocking in the poll phase although the
  // uv_async_t is active and nothing else will happen.
  uv_run(&loop, UV_RUN_ONCE);
  CHECK(order == std::vector<int>{1, 2});
  // Another thread of the application's may still push: uv_async_t wakes the loop.
  std::thread other([&] { first->push(ResponseEvent{}); });
  other.join();
  uv_run(&loop, UV_RUN_ONCE);
  CHECK(order == std::vector<int>{1, 2, 1});
  queue->stop();
  bool closed = false;
  queue->close([&] { closed = true; });
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(closed);
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("jobs submitted on the loop thread from a timer run without waiting for I/O") {
  // The threads are woken at the check phase; a job submitted outside the I/O callbacks
  // (from a timer) must not wait for the poll phase to end, which nothing else would end
  // here before the 10 s fallback timer.
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  std::atomic<bool> ran{false};
  bool delivered = false;
  WorkQueue queue(&loop, 2, [&](std::shared_ptr<ResponsePipe>) { delivered = true; });
  REQUIRE(queue.start() == 0);
  struct Timers {
    uv_timer_t submit, fallback;
    WorkQueue* queue;
    std::atomic<bool>* ran;
    bool fell_back = false;
  } t{{}, {}, &queue, &ran};
  uv_timer_init(&loop, &t.submit);
  uv_timer_init(&loop, &t.fallback);
  t.submit.data = t.fallback.data = &t;
  uv_timer_start(
      &t.submit,
      [](uv_timer_t* h) {
        auto* timers = static_cast<Timers*>(h->data);
        timers->queue->submit([timers] {
          *timers->ran = true;
          auto pipe = std::make_shared<ResponsePipe>(*timers->queue, 1 << 20);
          pipe->push(ResponseEvent{});  // wakes the loop, which stops the fallback below
        });
      },
      10, 0);
  uv_timer_start(
      &t.fallback,
      [](uv_timer_t* h) {
        static_cast<Timers*>(h->data)->fell_back = true;
        uv_stop(h->loop);
      },
      10000, 0);
  while (!delivered && !t.fell_back) uv_run(&loop, UV_RUN_ONCE);
  CHECK(ran);
  CHECK_FALSE(t.fell_back);
  uv_close(reinterpret_cast<uv_handle_t*>(&t.submit), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&t.fallback), nullptr);
  queue.stop();
  queue.close(nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}
