// hang_if_ended: a call's value and ordinary exceptions pass through; a forced unwinding
// (pthread_exit) stops there, before any destructor of the caller, and the thread hangs.
#include "core/forced_unwind.hpp"

#include <doctest/doctest.h>
#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace waitron::core {
namespace {

TEST_CASE("forced_unwind: hang_if_ended returns the call's value and passes its exceptions") {
  CHECK(hang_if_ended([] { return 42; }) == 42);
  int x = 1;
  int& same = hang_if_ended([&x]() -> int& { return x; });
  CHECK(&same == &x);
  CHECK_THROWS_AS(hang_if_ended([]() -> int { throw std::runtime_error("no"); }),
                  std::runtime_error);
  try {
    throw 7;
  } catch (...) {
    CHECK_FALSE(caught_forced_unwind());  // a C++ exception, even one of no class
  }
}

// Set by a destructor of the ended call's caller; a hang keeps it false.
std::atomic<bool> caller_unwound{false};
std::atomic<bool> reached_the_exit{false};

struct SetsOnUnwind {
  ~SetsOnUnwind() { caller_unwound = true; }
};

void* ended_thread(void*) {
  SetsOnUnwind guard;
  hang_if_ended([] {
    reached_the_exit = true;
    pthread_exit(nullptr);  // what CPython calls on a thread ending during finalization
  });
  return nullptr;
}

TEST_CASE("forced_unwind: a thread ended inside hang_if_ended hangs, its caller not unwound") {
  pthread_t thread;
  REQUIRE(pthread_create(&thread, nullptr, ended_thread, nullptr) == 0);
  for (int i = 0; i < 1000 && !reached_the_exit; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(reached_the_exit);
  // Had the unwinding gone on, the guard's destructor would run at once and the thread
  // would end (pthread_tryjoin_np succeeds). It is left hanging: the process ends it.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK_FALSE(caller_unwound);
  CHECK(pthread_tryjoin_np(thread, nullptr) == EBUSY);
  pthread_detach(thread);
}

}  // namespace
}  // namespace waitron::core
