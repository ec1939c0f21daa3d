// Ownership and GIL helpers for the Python bridge (CPython's own conventions made RAII).
//
// PyRef owns one strong reference; a plain PyObject* is a borrowed one. Gil holds the GIL
// for a scope (PyGILState_Ensure, reentrant); AllowThreads releases it for a scope, around
// anything that may block. Threads: Gil may be taken on any thread but the loop thread
// (which never needs it); AllowThreads only by a thread holding the GIL. Taking the GIL
// while the interpreter finalizes hangs the thread (core/forced_unwind.hpp) instead of
// unwinding through the scope's owner.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <utility>

#include "core/forced_unwind.hpp"

namespace waitron::python {

class PyRef {
 public:
  PyRef() noexcept = default;
  // Takes ownership of a new reference (may be null: a Python error is then set).
  static PyRef steal(PyObject* o) noexcept { return PyRef(o); }
  // Adds a reference to a borrowed object.
  static PyRef borrow(PyObject* o) noexcept {
    Py_XINCREF(o);
    return PyRef(o);
  }
  PyRef(PyRef&& other) noexcept : o_(std::exchange(other.o_, nullptr)) {}
  PyRef& operator=(PyRef&& other) noexcept {
    if (this != &other) {
      drop(o_);
      o_ = std::exchange(other.o_, nullptr);
    }
    return *this;
  }
  PyRef(const PyRef& other) noexcept : o_(other.o_) { Py_XINCREF(o_); }
  PyRef& operator=(const PyRef& other) noexcept {
    PyRef copy(other);
    std::swap(o_, copy.o_);
    return *this;
  }
  ~PyRef() { drop(o_); }

  [[nodiscard]] PyObject* get() const noexcept { return o_; }
  // Gives the reference away (to a function that steals it).
  [[nodiscard]] PyObject* release() noexcept { return std::exchange(o_, nullptr); }
  explicit operator bool() const noexcept { return o_ != nullptr; }

 private:
  explicit PyRef(PyObject* o) noexcept : o_(o) {}
  // The last reference's release runs the object's finalizer, maybe Python code (a
  // generator's finally blocks, __del__): CPython may end the thread there while the
  // interpreter finalizes, and it hangs instead. Any other release runs no code and goes
  // straight through (most of them: the guard is an out-of-line call).
  static void drop(PyObject* o) noexcept {
    if (o == nullptr) return;
    if (Py_REFCNT(o) > 1) {
      Py_DECREF(o);
      return;
    }
    core::hang_if_ended([o] { Py_DECREF(o); });
  }
  PyObject* o_ = nullptr;
};

// Whether the interpreter has begun to finalize: a thread asking for the GIL from now on is
// ended by CPython before 3.14 (core::hang_if_ended keeps it waiting instead).
inline bool interpreter_finalizing() noexcept {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing();
#else
  return _Py_IsFinalizing();
#endif
}

// The last guard of a scope holding the GIL: the thread no longer holds it when CPython
// ended the thread inside the scope in a call no hang_if_ended wrapped (Python code run
// by a garbage collection, say) and the unwinding reached the scope's end. Releasing a GIL
// not held is a fatal error: the thread hangs there instead (one check per scope).
inline void hang_unless_gil_held() noexcept {
  if (!PyGILState_Check()) core::hang_ended_thread();
}

class Gil {
 public:
  Gil() noexcept : state_(core::hang_if_ended(PyGILState_Ensure)) {}
  ~Gil() {
    hang_unless_gil_held();
    PyGILState_Release(state_);
  }
  Gil(const Gil&) = delete;
  Gil& operator=(const Gil&) = delete;

 private:
  PyGILState_STATE state_;
};

class AllowThreads {
 public:
  AllowThreads() noexcept : saved_(PyEval_SaveThread()) {}
  // Releases the GIL only if `release`: a call that cannot block may keep it.
  explicit AllowThreads(bool release) noexcept : saved_(release ? PyEval_SaveThread() : nullptr) {}
  // While the interpreter finalizes, CPython before 3.14 ends the thread here
  // (pthread_exit); it hangs instead, its callers' destructors never run without the GIL.
  ~AllowThreads() {
    if (saved_) core::hang_if_ended([this] { PyEval_RestoreThread(saved_); });
  }
  AllowThreads(const AllowThreads&) = delete;
  AllowThreads& operator=(const AllowThreads&) = delete;

 private:
  PyThreadState* saved_;
};

}  // namespace waitron::python
