// Loggers: the StderrLogger line format and level filter, one write per line
// under concurrency, and the MemoryLogger's records.
#include "core/log.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "core/unique_fd.hpp"
#include "core_test_support.hpp"

namespace waitron::core {
namespace {

// A pipe whose read end is drained after the writers are done. The pipe is
// made large enough to hold everything the test writes, so writers never
// block.
struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;

  Pipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
    ::fcntl(write_end.get(), F_SETPIPE_SZ, 1 << 20);
  }

  std::string drain() {
    write_end.reset();
    std::string out;
    char chunk[4096];
    for (;;) {
      const ssize_t n = ::read(read_end.get(), chunk, sizeof chunk);
      if (n <= 0) return out;
      out.append(chunk, static_cast<std::size_t>(n));
    }
  }
};

TEST_CASE("log: level names are Python logging's") {
  CHECK(level_name(LogLevel::debug) == "DEBUG");
  CHECK(level_name(LogLevel::info) == "INFO");
  CHECK(level_name(LogLevel::warning) == "WARNING");
  CHECK(level_name(LogLevel::error) == "ERROR");
}

TEST_CASE("log: StderrLogger writes LEVEL:name:message lines at or above its level") {
  Pipe pipe;
  StderrLogger logger(LogLevel::info, pipe.write_end.get());
  CHECK(logger.min_level() == LogLevel::info);
  logger.write(LogLevel::debug, "waitron", "hidden");
  logger.write(LogLevel::info, "waitron", "Serving on http://127.0.0.1:8080");
  logger.write(LogLevel::warning, "waitron.queue", "Task queue depth is 2");
  logger.write(LogLevel::error, "waitron", "");
  CHECK(pipe.drain() ==
        "INFO:waitron:Serving on http://127.0.0.1:8080\n"
        "WARNING:waitron.queue:Task queue depth is 2\n"
        "ERROR:waitron:\n");
}

TEST_CASE("log: StderrLogger defaults to stderr") {
  // stderr is replaced by a pipe for the duration of the check.
  Pipe pipe;
  UniqueFd saved(::fcntl(2, F_DUPFD_CLOEXEC, 0));
  REQUIRE(saved.valid());
  REQUIRE(::dup2(pipe.write_end.get(), 2) == 2);
  StderrLogger logger;
  logger.write(LogLevel::warning, "waitron", "to stderr");
  logger.write(LogLevel::debug, "waitron", "below the default level");
  ::dup2(saved.get(), 2);
  CHECK(pipe.drain() == "WARNING:waitron:to stderr\n");
}

TEST_CASE("log: lines from many threads never interleave") {
  Pipe pipe;
  StderrLogger logger(LogLevel::debug, pipe.write_end.get());
  constexpr int kThreads = 8;
  constexpr int kLines = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&logger, t] {
      const std::string message =
          "thread " + std::to_string(t) + " " + std::string(100, static_cast<char>('a' + t));
      for (int i = 0; i < kLines; ++i) logger.write(LogLevel::info, "waitron", message);
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::string out = pipe.drain();
  std::size_t lines = 0;
  std::size_t start = 0;
  while (start < out.size()) {
    const std::size_t end = out.find('\n', start);
    REQUIRE(end != std::string::npos);
    const std::string line = out.substr(start, end - start);
    const int t = line[std::string("INFO:waitron:thread ").size()] - '0';
    REQUIRE(line == "INFO:waitron:thread " + std::to_string(t) + " " +
                        std::string(100, static_cast<char>('a' + t)));
    ++lines;
    start = end + 1;
  }
  CHECK(lines == kThreads * kLines);
}

TEST_CASE("log: MemoryLogger records entries, counts substrings, and clears") {
  MemoryLogger logger;
  Logger& base = logger;
  base.write(LogLevel::info, "waitron", "Serving on http://[::1]:8080");
  base.write(LogLevel::warning, "waitron.queue", "Task queue depth is 3");
  base.write(LogLevel::error, "waitron", "Exception while serving /");
  const std::vector<LogEntry> entries = logger.entries();
  REQUIRE(entries.size() == 3);
  CHECK(entries[1].level == LogLevel::warning);
  CHECK(entries[1].logger_name == "waitron.queue");
  CHECK(entries[1].message == "Task queue depth is 3");
  CHECK(logger.size() == 3);
  CHECK(logger.count_containing("Serving") == 1);
  CHECK(logger.count_containing("serving") == 1);  // Case-sensitive.
  CHECK(logger.count_containing("queue depth") == 1);
  CHECK(logger.count_containing("absent") == 0);
  CHECK(logger.count_containing("") == 3);
  logger.clear();
  CHECK(logger.size() == 0);
  CHECK(logger.entries().empty());
}

TEST_CASE("log: MemoryLogger is safe to write from many threads") {
  MemoryLogger logger;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&logger] {
      for (int i = 0; i < 1000; ++i) logger.write(LogLevel::debug, "waitron", "tick");
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(logger.size() == 8000);
  CHECK(logger.count_containing("tick") == 8000);
}

}  // namespace
}  // namespace waitron::core
