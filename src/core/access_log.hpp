// The access log's writer: a bounded queue of records and a thread of its own that formats
// them (access_log_line.hpp) and writes them to the log file, so the event loop never
// formats a line or waits for the disk.
//
// - submit() never blocks: it takes a mutex that the writer holds only to swap the queue
//   out, and when max_queued records already wait it drops the record and counts it
//   (dropped()). The writer reports drops as a warning once per batch.
// - Lines are gathered: woken by a first line, the writer waits up to 50 ms (or 256 lines)
//   for more and writes them together, so a line reaches the file at most ~50 ms after
//   its response, and a busy server costs the writer a few wake-ups per interval.
// - reopen() (log rotation, SIGUSR1) queues a marker: records submitted before it go to the
//   file that was open, later ones to the file opened again at the same path. If the path
//   cannot be opened then, the old file stays in use and a warning is logged.
// - The path "-" is standard error (descriptor 2, never closed or reopened); each line then
//   goes out in a write() of its own, so lines never interleave with other stderr lines. A
//   file is opened O_APPEND (several processes may share it) and written in batches.
// - flush() waits until every record submitted before it is written (tests, shutdown);
//   stop() writes what is queued and joins the thread; records submitted later are dropped.
//
// Ownership: the server owns the AccessLog; the Logger for warnings is borrowed and must
// outlive it. Threads: submit(), reopen(), flush() and the counters from any thread; the
// constructor, stop() and the destructor from the owner's thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "core/access_log_line.hpp"
#include "core/log.hpp"

namespace waitron::core {

class AccessLog {
 public:
  static constexpr std::size_t kDefaultMaxQueued = 65536;

  // Opens `path` now (throws std::system_error when it cannot) and starts the writer.
  AccessLog(std::string path, AccessLogFormat format, std::size_t max_queued = kDefaultMaxQueued,
            Logger* warnings = nullptr);
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;
  ~AccessLog();

  // Queues one line. False when it was dropped (queue full, or stopped).
  bool submit(AccessRecord record) noexcept;
  void reopen() noexcept;
  void flush();
  void stop() noexcept;

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] std::uint64_t lines_written() const noexcept { return written_.load(); }
  [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_.load(); }

 private:
  struct Item {
    AccessRecord record;
    bool reopen = false;  // a reopen marker, not a record
  };

  void run() noexcept;
  void write_batch(std::deque<Item>& batch, std::string& buffer);
  bool write_out(std::string_view bytes);
  void do_reopen();
  void warn(const std::string& message) noexcept;

  const std::string path_;
  const AccessLogFormat format_;
  const std::size_t max_queued_;
  Logger* warnings_;
  int fd_ = -1;  // the writer thread's, once started

  std::mutex mutex_;
  std::condition_variable wake_;  // the writer: work, or stop
  std::condition_variable written_cv_;
  std::deque<Item> queue_;
  std::size_t queued_records_ = 0;  // records in queue_ (markers are not counted)
  std::uint64_t submitted_ = 0;     // items ever queued
  std::uint64_t done_ = 0;          // items handled by the writer
  bool urgent_ = false;             // flush() or reopen() waits: write without gathering more
  bool stopping_ = false;
  bool stopped_ = false;
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::uint64_t dropped_reported_ = 0;  // writer thread
  std::thread thread_;
};

}  // namespace waitron::core
