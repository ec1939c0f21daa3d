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
      Py_XDECREF(o_);
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
  ~PyRef() { Py_XDECREF(o_); }

  [[nodiscard]] PyObject* get() const noexcept { return o_; }
  // Gives the reference away (to a function that steals it).
  [[nodiscard]] PyObject* release() noexcept { return std::exchange(o_, nullptr); }
  explicit operator bool() const noexcept { return o_ != nullptr; }

 private:
  explicit PyRef(PyObject* o) noexcept : o_(o) {}
  PyObject* o_ = nullptr;
};

class Gil {
 public:
  Gil() noexcept : state_(core::hang_if_ended(PyGILState_Ensure)) {}
  ~Gil() { PyGILState_Release(state_); }
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
