// The access log's writer thread: see access_log.hpp.
#include "core/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>
#include <utility>

namespace waitron::core {

namespace {

constexpr std::size_t kBatchBytes = 64 * 1024;  // a file is written in pieces of about this
// Once woken by a first line, the writer lets lines gather for up to this long, or until
// kWakeAt of them wait, then writes them together: two wake-ups and a few write() calls
// per interval instead of one each per line.
constexpr auto kGatherTime = std::chrono::milliseconds(50);
constexpr std::size_t kWakeAt = 256;

int open_log(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

bool is_stderr(const std::string& path) {
  return path == "-";
}

}  // namespace

AccessLog::AccessLog(std::string path, AccessLogFormat format, std::size_t max_queued,
                     Logger* warnings)
    : path_(std::move(path)),
      format_(format),
      max_queued_(max_queued == 0 ? 1 : max_queued),
      warnings_(warnings) {
  if (is_stderr(path_)) {
    fd_ = 2;
  } else {
    fd_ = open_log(path_);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "access_log " + path_);
  }
  try {
    thread_ = std::thread([this] { run(); });
  } catch (...) {
    if (!is_stderr(path_)) ::close(fd_);
    throw;
  }
}

AccessLog::~AccessLog() {
  stop();
}

bool AccessLog::submit(AccessRecord record) noexcept {
  try {
    bool wake;
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || queued_records_ >= max_queued_) {
        dropped_.fetch_add(1);
        return false;
      }
      const bool was_empty = queue_.empty();
      queue_.push_back(Item{std::move(record), false});
      ++queued_records_;
      ++submitted_;
      // The writer needs a wake-up only for a first line and when a batch is full (decided
      // under the lock: the writer swaps the queue out under it).
      wake = was_empty || queue_.size() == kWakeAt;
    }
    if (wake) wake_.notify_one();
    return true;
  } catch (...) {
    dropped_.fetch_add(1);  // out of memory
    return false;
  }
}

void AccessLog::reopen() noexcept {
  try {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      queue_.push_back(Item{{}, true});
      ++submitted_;
      urgent_ = true;
    }
    wake_.notify_one();
  } catch (...) {
    warn("access log: cannot queue the reopen (out of memory)");
  }
}

void AccessLog::flush() {
  std::unique_lock lock(mutex_);
  std::uint64_t target = submitted_;
  urgent_ = true;
  wake_.notify_one();
  written_cv_.wait(lock, [&] { return done_ >= target || stopped_; });
}

void AccessLog::stop() noexcept {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0 && !is_stderr(path_)) ::close(fd_);
  fd_ = -1;
}

void AccessLog::run() noexcept {
  std::deque<Item> batch;
  std::string buffer;
  for (;;) {
    bool last;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      wake_.wait_for(lock, kGatherTime,
                     [&] { return queue_.size() >= kWakeAt || urgent_ || stopping_; });
      urgent_ = false;
      batch.swap(queue_);
      queued_records_ = 0;
      last = stopping_ && batch.empty();
    }
    if (last) break;
    std::size_t n = batch.size();
    try {
      write_batch(batch, buffer);
    } catch (...) {
      batch.clear();  // out of memory while reporting: the batch is gone either way
    }
    {
      std::lock_guard lock(mutex_);
      done_ += n;
    }
    written_cv_.notify_all();
  }
  std::lock_guard lock(mutex_);
  stopped_ = true;
  written_cv_.notify_all();
}

void AccessLog::write_batch(std::deque<Item>& batch, std::string& buffer) {
  buffer.clear();
  std::uint64_t pending = 0;  // records formatted into buffer
  bool one_per_write = is_stderr(path_);
  auto drain = [&] {
    if (buffer.empty()) return;
    if (write_out(buffer)) {
      written_.fetch_add(pending);
    } else {
      dropped_.fetch_add(pending);
    }
    buffer.clear();
    pending = 0;
  };
  for (Item& item : batch) {
    if (item.reopen) {
      drain();
      do_reopen();
      continue;
    }
    try {
      append_access_line(format_, item.record, buffer);
      ++pending;
    } catch (...) {
      dropped_.fetch_add(1);  // out of memory
    }
    if (one_per_write || buffer.size() >= kBatchBytes) drain();
  }
  drain();
  batch.clear();
  std::uint64_t dropped = dropped_.load();
  if (dropped != dropped_reported_) {
    warn("access log: " + std::to_string(dropped - dropped_reported_) +
         " line(s) dropped (queue full or write failed)");
    dropped_reported_ = dropped;
  }
}

bool AccessLog::write_out(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void AccessLog::do_reopen() {
  if (is_stderr(path_)) return;
  int fd = open_log(path_);
  if (fd < 0) {
    warn("access log: cannot reopen " + path_ + ": " + std::strerror(errno) +
         "; still writing to the old file");
    return;
  }
  ::close(fd_);
  fd_ = fd;
}

void AccessLog::warn(const std::string& message) noexcept {
  if (warnings_) warnings_->write(LogLevel::warning, "waitron", message);
}

}  // namespace waitron::core
