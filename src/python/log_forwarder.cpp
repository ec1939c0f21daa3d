#include "python/log_forwarder.hpp"

#include "python/py_ref.hpp"

namespace waitron::python {

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
        PyRef logger = logging ? PyRef::steal(PyObject_CallMethod(
                                     logging.get(), "getLogger", "s#", line.logger.data(),
                                     static_cast<Py_ssize_t>(line.logger.size())))
                               : PyRef();
        int level = line.level == LogLevel::debug     ? 10
                    : line.level == LogLevel::info    ? 20
                    : line.level == LogLevel::warning ? 30
                                                      : 40;
        PyRef done = logger ? PyRef::steal(PyObject_CallMethod(
                                  logger.get(), "log", "iss#", level, "%s", line.message.data(),
                                  static_cast<Py_ssize_t>(line.message.size())))
                            : PyRef();
        (void)done;
        if (PyErr_Occurred()) PyErr_Clear();  // a broken handler loses the line, nothing more
      }
    }
    if (last) return;
  }
}

}  // namespace waitron::python
