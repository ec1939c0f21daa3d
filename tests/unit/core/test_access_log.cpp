// The access log's writer thread: lines reach the file, reopen after a rename moves later
// lines to a new file, a full queue drops and counts instead of blocking, a failed reopen
// keeps the old file.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

#include "core/access_log.hpp"
#include "core/core_test_support.hpp"

namespace waitron::core {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int count_lines(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

AccessRecord record(std::string target) {
  AccessRecord r;
  r.time = std::chrono::system_clock::now();
  r.remote_addr = "127.0.0.1";
  r.method = "GET";
  r.target = target;
  r.protocol = "HTTP/1.1";
  r.request_line = "GET " + target + " HTTP/1.1";
  r.status = 200;
  return r;
}

TEST_CASE("lines are written by the writer thread, in order") {
  std::string path = test::temp_dir() + "/access.log";
  {
    AccessLog log(path, AccessLogFormat::combined);
    CHECK(log.path() == path);
    for (int i = 0; i < 100; ++i) CHECK(log.submit(record("/" + std::to_string(i))));
    log.flush();
    CHECK(log.lines_written() == 100);
    CHECK(log.dropped() == 0);
    std::string text = slurp(path);
    CHECK(count_lines(text) == 100);
    CHECK(text.find("\"GET /0 HTTP/1.1\"") < text.find("\"GET /99 HTTP/1.1\""));
  }
  // A second log on the same path appends (O_APPEND), it does not truncate.
  {
    AccessLog log(path, AccessLogFormat::json);
    log.submit(record("/more"));
  }  // the destructor writes what is queued
  std::string text = slurp(path);
  CHECK(count_lines(text) == 101);
  CHECK(text.find("{\"time\":") != std::string::npos);
  std::remove(path.c_str());
}

TEST_CASE("a lone line is written without flush() (gathering is bounded in time)") {
  std::string path = test::temp_dir() + "/lone.log";
  AccessLog log(path, AccessLogFormat::combined);
  log.submit(record("/lone"));
  bool seen = false;
  for (int i = 0; i < 500 && !seen; ++i) {  // up to 5 s; the writer waits 50 ms at most
    seen = slurp(path).find("/lone") != std::string::npos;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(seen);
  CHECK(log.lines_written() == 1);
  log.stop();
  std::remove(path.c_str());
}

TEST_CASE("reopen after a rename: earlier lines stay in the old file, later ones go to a new") {
  std::string path = test::temp_dir() + "/rotate.log";
  std::string rotated = path + ".1";
  AccessLog log(path, AccessLogFormat::combined);
  log.submit(record("/before-1"));
  log.submit(record("/before-2"));
  REQUIRE(std::rename(path.c_str(), rotated.c_str()) == 0);
  log.submit(record("/before-3"));  // submitted before reopen(): still the old file
  log.reopen();
  log.submit(record("/after"));
  log.flush();
  std::string old_text = slurp(rotated);
  std::string new_text = slurp(path);
  CHECK(count_lines(old_text) == 3);
  CHECK(old_text.find("/before-3") != std::string::npos);
  CHECK(count_lines(new_text) == 1);
  CHECK(new_text.find("/after") != std::string::npos);
  log.stop();
  std::remove(path.c_str());
  std::remove(rotated.c_str());
}

TEST_CASE("a reopen that fails keeps writing to the old file, with a warning") {
  std::string dir = test::temp_dir() + "/gone";
  REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
  std::string path = dir + "/a.log";
  std::string moved = test::temp_dir() + "/moved.log";
  MemoryLogger warnings;
  AccessLog log(path, AccessLogFormat::combined, AccessLog::kDefaultMaxQueued, &warnings);
  REQUIRE(std::rename(path.c_str(), moved.c_str()) == 0);
  REQUIRE(::rmdir(dir.c_str()) == 0);
  log.reopen();  // the folder is gone: the open fails
  log.submit(record("/still"));
  log.flush();
  CHECK(warnings.count_containing("cannot reopen") == 1);
  CHECK(slurp(moved).find("/still") != std::string::npos);
  log.stop();
  std::remove(moved.c_str());
}

TEST_CASE("a path that cannot be opened throws at construction") {
  CHECK_THROWS_AS(AccessLog(test::temp_dir() + "/no/such/dir/a.log", AccessLogFormat::combined),
                  std::system_error);
}

TEST_CASE("a full queue drops and counts lines instead of blocking the caller") {
  // A FIFO nobody reads yet: the writer blocks on a line larger than the pipe, while the
  // caller keeps submitting.
  std::string path = test::temp_dir() + "/fifo";
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  int reader = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(reader >= 0);
  MemoryLogger warnings;
  AccessLog log(path, AccessLogFormat::combined, 4, &warnings);
  AccessRecord big = record("/big");
  big.user_agent = std::string(256 * 1024, 'u');
  CHECK(log.submit(big));
  int accepted = 0;
  for (int i = 0; i < 100; ++i) accepted += log.submit(record("/" + std::to_string(i))) ? 1 : 0;
  // The writer takes at most one batch (big and up to 4 more) before it blocks; 4 more fit.
  CHECK(accepted <= 8);
  CHECK(log.dropped() == static_cast<std::uint64_t>(100 - accepted));

  // Drain the FIFO so the writer can finish; stop() then writes what was accepted.
  std::string got;
  std::thread drain([&] {
    int flags = ::fcntl(reader, F_GETFL);
    ::fcntl(reader, F_SETFL, flags & ~O_NONBLOCK);
    char buf[65536];
    ssize_t n;
    while ((n = ::read(reader, buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  });
  log.stop();
  drain.join();
  ::close(reader);
  CHECK(count_lines(got) == accepted + 1);
  CHECK(log.lines_written() == static_cast<std::uint64_t>(accepted + 1));
  CHECK(warnings.count_containing("line(s) dropped") >= 1);
  CHECK_FALSE(log.submit(record("/late")));  // stopped: dropped
  std::remove(path.c_str());
}

}  // namespace
}  // namespace waitron::core
