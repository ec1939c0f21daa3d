// Loggers: see log.hpp.
#include "core/log.hpp"

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace waitron::core {

std::string_view level_name(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug:
      return "DEBUG";
    case LogLevel::info:
      return "INFO";
    case LogLevel::warning:
      return "WARNING";
    case LogLevel::error:
      return "ERROR";
  }
  return "UNKNOWN";
}

Logger::~Logger() = default;

void StderrLogger::write(LogLevel level, std::string_view logger_name,
                         std::string_view message) noexcept {
  if (level < min_level_) return;
  std::string line;
  try {
    const std::string_view name = level_name(level);
    line.reserve(name.size() + logger_name.size() + message.size() + 3);
    line.append(name).append(1, ':').append(logger_name).append(1, ':');
    line.append(message).append(1, '\n');
  } catch (...) {
    return;  // Out of memory: the message is dropped, as log.hpp allows.
  }
  std::string_view rest(line);
  while (!rest.empty()) {
    const ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // Nowhere left to report a failure to log.
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

void MemoryLogger::write(LogLevel level, std::string_view logger_name,
                         std::string_view message) noexcept {
  try {
    LogEntry entry{level, std::string(logger_name), std::string(message)};
    const std::lock_guard lock(mutex_);
    entries_.push_back(std::move(entry));
  } catch (...) {
    // Out of memory (or a broken mutex): the message is dropped.
  }
}

std::vector<LogEntry> MemoryLogger::entries() const {
  const std::lock_guard lock(mutex_);
  return entries_;
}

std::size_t MemoryLogger::size() const {
  const std::lock_guard lock(mutex_);
  return entries_.size();
}

std::size_t MemoryLogger::count_containing(std::string_view needle) const {
  const std::lock_guard lock(mutex_);
  std::size_t count = 0;
  for (const LogEntry& entry : entries_) {
    if (entry.message.find(needle) != std::string::npos) ++count;
  }
  return count;
}

void MemoryLogger::clear() {
  const std::lock_guard lock(mutex_);
  entries_.clear();
}

}  // namespace waitron::core
