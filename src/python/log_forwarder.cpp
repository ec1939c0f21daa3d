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
  thread_ = std::thread([this] { run(); });
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
  if (thread_.joinable()) thread_.join();
}

void LogForwarder::run() {
  for (;;) {
    std::deque<Line> batch;
    bool last;
    {
      std::unique_lock lock(shared_->mutex);
      shared_->wake.wait(lock, [&] { return shared_->stopping || !shared_->lines.empty(); });
      batch.swap(shared_->lines);
      last = shared_->stopping;
    }
    if (!batch.empty() && Py_IsInitialized()) {
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
