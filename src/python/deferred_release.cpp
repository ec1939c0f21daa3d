#include "python/deferred_release.hpp"

#include <mutex>
#include <vector>

namespace waitron::python {

namespace {

// Process-wide: references may be queued after the server that sent them is gone.
std::mutex g_mutex;
std::vector<PyObject*>& queue() {
  static auto* pending = new std::vector<PyObject*>();  // never destroyed: see release_pending
  return *pending;
}

}  // namespace

std::shared_ptr<const void> hold(PyObject* o) {
  Py_INCREF(o);
  return std::shared_ptr<const void>(o, [](const void* p) {
    std::lock_guard lock(g_mutex);
    queue().push_back(const_cast<PyObject*>(static_cast<const PyObject*>(p)));
  });
}

void release_pending() noexcept {
  std::vector<PyObject*> batch;
  {
    std::lock_guard lock(g_mutex);
    batch.swap(queue());
  }
  for (PyObject* o : batch) Py_DECREF(o);
}

}  // namespace waitron::python
