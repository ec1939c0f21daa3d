// Forwards the server's log lines to Python's logging module.
//
// The loop thread must never take the GIL, so the sink only queues lines; a thread of the
// forwarder's own takes the GIL and calls logging.getLogger(name).log(level, message).
// Ownership: shared by the sink (held by the server) and its owner. Threads: the sink may
// be called from any thread; stop() must be called without the GIL (it waits for the
// thread, which needs the GIL to flush; while the interpreter finalizes it does not wait
// and the queued lines are lost); the destructor calls stop().
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <waitron/server.hpp>

#include "python/py_ref.hpp"

namespace waitron::python {

// With the GIL held: logger.log(level, "%s", message), at Python's level for `level`. The
// message is an argument, never the format, so a '%' in it is printed as is. A failing
// handler loses the line (the error is cleared).
void log_to_python(PyObject* logger, LogLevel level, std::string_view message) noexcept;

class LogForwarder {
 public:
  LogForwarder();
  ~LogForwarder();
  LogForwarder(const LogForwarder&) = delete;
  LogForwarder& operator=(const LogForwarder&) = delete;

  [[nodiscard]] LogSink sink();
  // Flushes what is queued and ends the thread. Idempotent.
  void stop();

 private:
  struct Line {
    LogLevel level;
    std::string logger;
    std::string message;
  };
  struct Shared {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<Line> lines;
    bool stopping = false;
  };

  static void run(Shared& shared);

  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

}  // namespace waitron::python
