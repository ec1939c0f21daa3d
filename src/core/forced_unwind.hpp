// What a thread does when something it calls ends it by unwinding its stack.
//
// CPython before 3.14 ends a thread that asks for the GIL while the interpreter finalizes
// with pthread_exit (PyEval_RestoreThread, PyGILState_Ensure, or its own evaluation loop
// taking the GIL back after a sleep or a switch). glibc implements pthread_exit as a
// forced unwinding (abi::__forced_unwind), which would run this server's destructors
// without the GIL and, at a `catch (...)` that does not rethrow, abort the process
// ("FATAL: exception not rethrown"). CPython 3.14 hangs such a thread instead; the server
// does the same on every version: the thread waits, holding what it holds, until the
// process ends, which is what a program whose interpreter finalizes is about to do.
//
// Threads: any. hang_if_ended wraps the innermost call that may end the thread (so that
// no destructor of the caller runs); the `catch (abi::__forced_unwind&)` of an outer
// boundary (a noexcept function, a catch-all) calls hang_ended_thread() as a last resort.
#pragma once

#include <cxxabi.h>

#include <utility>

namespace waitron::core {

// Never returns: the thread sleeps until the process exits.
[[noreturn]] void hang_ended_thread() noexcept;

// Calls `call` and returns what it returns; if `call` ends the thread (a forced
// unwinding), the thread hangs instead of unwinding through the caller.
template <class Call>
decltype(auto) hang_if_ended(Call&& call) {
  try {
    return std::forward<Call>(call)();
  } catch (abi::__forced_unwind&) {
    hang_ended_thread();
  }
}

}  // namespace waitron::core
