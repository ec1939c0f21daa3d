// The logging interface every layer writes to (waitress logs through Python's
// logging module, under the names "waitress" and "waitress.queue").
//
// A Logger receives one message at a time with its level and the name of the
// logger it came from ("waitron", "waitron.queue", ...). The embedding host
// implements Logger to route messages into its own logging; StderrLogger is
// the default of the command line; MemoryLogger records messages for tests.
//
// Ownership: whoever builds the server owns the Logger and keeps it alive
// until the server is gone; everything else borrows it by reference.
//
// Threads: write() is called from any thread, concurrently (the loop thread
// and every app thread), so every implementation must be thread-safe. write()
// is noexcept: a logger that cannot log drops the message.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace waitron::core {

enum class LogLevel { debug, info, warning, error };

// The level's name as Python's logging prints it: "DEBUG", "INFO",
// "WARNING", "ERROR".
[[nodiscard]] std::string_view level_name(LogLevel level) noexcept;

class Logger {
 public:
  virtual ~Logger();
  virtual void write(LogLevel level, std::string_view logger_name,
                     std::string_view message) noexcept = 0;

 protected:
  Logger() = default;
  Logger(const Logger&) = default;
  Logger& operator=(const Logger&) = default;
};

// Writes "LEVEL:name:message\n" (Python logging's default format) to a file
// descriptor, stderr unless told otherwise, for messages at or above a
// minimum level. Each line goes out in a single write(2) call, so lines
// from different threads never interleave (a write to a pipe of at most
// PIPE_BUF bytes is atomic; longer lines may be split only if the kernel
// accepts part of them, and the rest follows at once). The descriptor is
// borrowed: it must stay open for the logger's lifetime and is not closed.
class StderrLogger final : public Logger {
 public:
  explicit StderrLogger(LogLevel min_level = LogLevel::info, int fd = 2) noexcept
      : min_level_(min_level), fd_(fd) {}

  void write(LogLevel level, std::string_view logger_name,
             std::string_view message) noexcept override;

  [[nodiscard]] LogLevel min_level() const noexcept { return min_level_; }

 private:
  LogLevel min_level_;
  int fd_;
};

// One recorded message.
struct LogEntry {
  LogLevel level;
  std::string logger_name;
  std::string message;
};

// Records every message in memory, under a mutex, for tests to inspect.
class MemoryLogger final : public Logger {
 public:
  MemoryLogger() = default;

  void write(LogLevel level, std::string_view logger_name,
             std::string_view message) noexcept override;

  // A copy of the entries so far, oldest first.
  [[nodiscard]] std::vector<LogEntry> entries() const;
  [[nodiscard]] std::size_t size() const;
  // The number of entries whose message contains `needle`.
  [[nodiscard]] std::size_t count_containing(std::string_view needle) const;
  void clear();

 private:
  mutable std::mutex mutex_;
  std::vector<LogEntry> entries_;
};

}  // namespace waitron::core
