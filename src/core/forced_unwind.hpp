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
// no destructor of the caller runs); the `catch (...)` of an outer boundary (a noexcept
// function, a catch-all) asks caught_forced_unwind() and calls hang_ended_thread() as a
// last resort. (Not `catch (abi::__forced_unwind&)`: the unwinding has no exception
// object, and binding the reference is undefined behaviour, reported by UBSan.)
#pragma once

#include <exception>
#include <utility>

namespace waitron::core {

// Never returns: the thread sleeps until the process exits.
[[noreturn]] void hang_ended_thread() noexcept;

// Inside a `catch (...)`: whether what was caught is a forced unwinding (or another
// language's exception), which is no C++ exception: std::current_exception() has none.
inline bool caught_forced_unwind() noexcept {
  return !std::current_exception();
}

// Calls `call` and returns what it returns; if `call` ends the thread (a forced
// unwinding), the thread hangs instead of unwinding through the caller. C++ exceptions
// pass.
template <class Call>
decltype(auto) hang_if_ended(Call&& call) {
  try {
    return std::forward<Call>(call)();
  } catch (...) {
    if (caught_forced_unwind()) hang_ended_thread();
    throw;
  }
}

}  // namespace waitron::core
