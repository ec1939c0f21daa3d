#include "python/log_forwarder.hpp"

#include "core/forced_unwind.hpp"
#include "python/py_ref.hpp"

namespace waitron::python {

void log_to_python(PyObject* logger, LogLevel level, std::string_view message) noexcept {
  const int python_level = level == LogLevel::debug     ? 10
                           : level == LogLevel::info    ? 20
                           : level == LogLevel::warning ? 30
                                                        : 40;
  // Logging's handlers may release the GIL (a lock, a write): while the interpreter
  // finalizes, taking it back would end the thread (core/forced_unwind.hpp).
  PyRef done = PyRef::steal(core::hang_if_ended([&] {
    return PyObject_CallMethod(logger, "log", "iss#", python_level, "%s", message.data(),
                               static_cast<Py_ssize_t>(message.size()));
  }));
  if (!done) PyErr_Clear();
}

LogForwarder::LogForwarder() : shared_(std::make_shared<Shared>()) {
  // The thread owns the shared state too: stop() may leave it running (see there).
  thread_ = std::thread([shared = shared_] { run(*shared); });
}

LogForwarder::~LogForwarder() {
  stop();
}

LogSink LogForwarder::sink() {
  std::weak_ptr<Shared> weak = shared_;
  return [weak](LogLevel level, std::string_view logger, std::string_view message) {
    if (auto s = weak.lock()) {
      {
        std::lock_guard lock(s->mutex);
        if (s->stopping) return;
        s->lines.push_back(Line{level, std::string(logger), std::string(message)});
      }
      s->wake.notify_one();
    }
  };
}

void LogForwarder::stop() {
  {
    std::lock_guard lock(shared_->mutex);
    shared_->stopping = true;
  }
  shared_->wake.notify_one();
  if (!thread_.joinable()) return;
  if (Py_IsInitialized() && interpreter_finalizing()) {
    // The thread may be waiting for the GIL, which it will never get back (CPython keeps
    // it waiting, see core/forced_unwind.hpp): joining it would keep the process from
    // exiting. It ends with the process; it owns what it uses.
    thread_.detach();
    return;
  }
  thread_.join();
}

void LogForwarder::run(Shared& shared) {
  for (;;) {
    std::deque<Line> batch;
    bool last;
    {
      std::unique_lock lock(shared.mutex);
      shared.wake.wait(lock, [&] { return shared.stopping || !shared.lines.empty(); });
      batch.swap(shared.lines);
      last = shared.stopping;
    }
    // While the interpreter finalizes, the lines are dropped: the GIL cannot be had.
    if (!batch.empty() && Py_IsInitialized() && !interpreter_finalizing()) {
      Gil gil;
      PyRef logging = PyRef::steal(PyImport_ImportModule("logging"));
      for (const Line& line : batch) {
        const auto get_logger = [&] {
          return PyObject_CallMethod(logging.get(), "getLogger", "s#", line.logger.data(),
                                     static_cast<Py_ssize_t>(line.logger.size()));
        };
        PyRef logger = logging ? PyRef::steal(core::hang_if_ended(get_logger)) : PyRef();
        if (logger) log_to_python(logger.get(), line.level, line.message);
        if (PyErr_Occurred()) PyErr_Clear();  // no logger: the line is lost, nothing more
      }
    }
    if (last) return;
  }
}

}  // namespace waitron::python
