// The functional tests' native App. Each path shows one behaviour of the server:
//
//   /echo                      the body back, plus X-Method, X-Path, X-Query, X-Http-Minor,
//                              X-Body-Length, X-Remote-Addr, X-Remote-Port ("none" if absent)
//   /environ, /headers         "KEY=value" lines of environ() (sorted), "Name: value" lines
//   /sleep?ms=N                sleeps N ms, then "slept"
//   /bytes?size=N              N pattern bytes (byte i is i % 251) in 64 KiB writes
//   /file?size=N               the same N bytes by send_file() from a temporary file
//   /chunked?n=K               K writes of "chunk-<i>\n", no Content-Length
//   /error-before              throws before start()
//   /error-after               writes "partial" without Content-Length, then throws
//   /deleted-fds               how many open descriptors name a deleted file
//   /hold-upload               "<body length> <deleted-fds>" while the request is alive
//   /wait-disconnect?ms=N      polls client_disconnected() for up to N ms: "seen"/"not seen"
//   /stream-until-disconnect   64 KiB writes until ClientDisconnected, counted, rethrown
//   /state                     the two counters above
//   /__seen                    the request log (below) as JSON; not itself logged
//   /__reset                   empties the request log; not itself logged
//   anything else              404
//
// Recording mode (WAITRON_FIXTURE_RECORD=1 in the environment, for test_hostile_corpus.py):
// every request whose path starts with neither /__seen nor /__reset is appended to the
// request log (method, request-target as sent, HTTP minor, fields, whole body) and answered
// "200 OK" with Content-Length 2 and the body "ok", whatever its path: the fake app of the
// unit tests' request-case table. Without it the paths above are served and nothing is
// logged (/__seen returns []).
//
// /__seen's JSON is [{"method": ..., "target": ..., "minor": 1, "body": ...,
// "fields": [[name, value], ...]}, ...] in arrival order, every string written with one code
// point per byte (latin-1), so that a client gets the bytes back exactly.
//
// Thread-safe: the state is atomics, a mutex-guarded cache of temporary files and a
// mutex-guarded request log.
#include "fixture_app.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "runner/demo_app.hpp"

namespace waitron::fixture {

namespace {

constexpr std::size_t kBlock = 64 * 1024;
constexpr unsigned kPatternPeriod = 251;

std::atomic<bool> g_last_disconnect_seen{false};
std::atomic<std::uint64_t> g_streams_ended_by_disconnect{0};

// kBlock + kPatternPeriod bytes of the pattern, so that any window of kBlock bytes
// starting at offset % 251 continues the pattern of offset.
const std::string& pattern_block() {
  static const std::string block = [] {
    std::string b(kBlock + kPatternPeriod, '\0');
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<char>(i % kPatternPeriod);
    return b;
  }();
  return block;
}

std::optional<std::uint64_t> query_number(const Request& req, std::string_view name) {
  std::string_view text = runner::query_param(req.query(), name);
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

void answer(Response& res, std::string status, std::string body) {
  res.start(std::move(status),
            {{"Content-Type", "text/plain"}, {"Content-Length", std::to_string(body.size())}});
  res.write(std::move(body));
}

void bad_request(Response& res, std::string_view what) {
  answer(res, "400 Bad Request", std::string(what) + " must be a non-negative integer\n");
}

std::string temp_dir() {
  const char* dir = std::getenv("TMPDIR");
  return dir && *dir ? dir : "/tmp";
}

void write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::system_error(errno, std::generic_category(), "write to temp file");
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

// A nameless temporary file holding `size` pattern bytes, one per size, kept open until exit.
class FileCache {
 public:
  FileCache() = default;
  FileCache(const FileCache&) = delete;
  FileCache& operator=(const FileCache&) = delete;
  ~FileCache() {
    for (auto& [size, fd] : files_) ::close(fd);
  }

  int get(std::uint64_t size) {
    std::lock_guard lock(mutex_);
    if (auto it = files_.find(size); it != files_.end()) return it->second;
    int fd = create(size);
    files_.emplace(size, fd);
    return fd;
  }

 private:
  static int create(std::uint64_t size) {
    std::string dir = temp_dir();
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      std::string name = dir + "/waitron-fixture-XXXXXX";
      fd = ::mkostemp(name.data(), O_CLOEXEC);
      if (fd < 0) throw std::system_error(errno, std::generic_category(), "mkostemp");
      ::unlink(name.c_str());
    }
    // A whole number of pattern periods per write keeps the pattern continuous.
    std::string block(kPatternPeriod * 4096, '\0');
    for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>(i % kPatternPeriod);
    try {
      for (std::uint64_t left = size; left > 0;) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, block.size()));
        write_all(fd, block.data(), n);
        left -= n;
      }
    } catch (...) {
      ::close(fd);
      throw;
    }
    return fd;
  }

  std::mutex mutex_;
  std::map<std::uint64_t, int> files_;
};

FileCache& file_cache() {
  static FileCache cache;
  return cache;
}

std::size_t deleted_fds() {
  std::size_t count = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) throw std::system_error(errno, std::generic_category(), "opendir /proc/self/fd");
  constexpr std::string_view kDeleted = "(deleted)";
  while (dirent* entry = ::readdir(dir)) {
    std::string path = std::string("/proc/self/fd/") + entry->d_name;
    char target[4096];
    ssize_t n = ::readlink(path.c_str(), target, sizeof target);
    if (n <= 0) continue;
    std::string_view link(target, static_cast<std::size_t>(n));
    if (link.size() >= kDeleted.size() && link.substr(link.size() - kDeleted.size()) == kDeleted) {
      ++count;
    }
  }
  ::closedir(dir);
  return count;
}

void echo(Request& req, Response& res) {
  std::string body = req.body().read_all();
  auto port = req.remote_port();
  res.start("200 OK", {
                          {"Content-Type", "application/octet-stream"},
                          {"Content-Length", std::to_string(body.size())},
                          {"X-Method", std::string(req.method())},
                          {"X-Path", std::string(req.path())},
                          {"X-Query", std::string(req.query())},
                          {"X-Http-Minor", std::to_string(req.http_minor())},
                          {"X-Body-Length", std::to_string(body.size())},
                          {"X-Remote-Addr", std::string(req.remote_addr())},
                          {"X-Remote-Port", port ? std::to_string(*port) : "none"},
                      });
  res.write(std::move(body));
}

void environ_lines(Request& req, Response& res) {
  std::string out;
  for (const auto& [key, value] : req.environ())
    out.append(key).append("=").append(value).append("\n");
  answer(res, "200 OK", std::move(out));
}

void header_lines(Request& req, Response& res) {
  std::string out;
  for (const Header& h : req.headers())
    out.append(h.name).append(": ").append(h.value).append("\n");
  answer(res, "200 OK", std::move(out));
}

void sleep_then_answer(Request& req, Response& res) {
  auto ms = query_number(req, "ms");
  if (!ms) return bad_request(res, "ms");
  std::this_thread::sleep_for(std::chrono::milliseconds(*ms));
  answer(res, "200 OK", "slept");
}

void bytes(Request& req, Response& res) {
  auto size = query_number(req, "size");
  if (!size) return bad_request(res, "size");
  res.start("200 OK", {{"Content-Type", "application/octet-stream"},
                       {"Content-Length", std::to_string(*size)}});
  const std::string& block = pattern_block();
  for (std::uint64_t offset = 0; offset < *size;) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(*size - offset, kBlock));
    res.write(std::string_view(block).substr(static_cast<std::size_t>(offset % kPatternPeriod), n));
    offset += n;
  }
}

void file(Request& req, Response& res) {
  auto size = query_number(req, "size");
  if (!size) return bad_request(res, "size");
  int fd = file_cache().get(*size);
  res.start("200 OK", {{"Content-Type", "application/octet-stream"},
                       {"Content-Length", std::to_string(*size)}});
  res.send_file(fd, 0, *size);
}

void chunked(Request& req, Response& res) {
  auto n = query_number(req, "n");
  if (!n) return bad_request(res, "n");
  res.start("200 OK", {{"Content-Type", "text/plain"}});
  for (std::uint64_t i = 0; i < *n; ++i) res.write("chunk-" + std::to_string(i) + "\n");
}

void hold_upload(Request& req, Response& res) {
  std::uint64_t length = 0;
  char buf[65536];
  while (std::size_t n = req.body().read(buf, sizeof buf)) length += n;
  answer(res, "200 OK", std::to_string(length) + " " + std::to_string(deleted_fds()));
}

void wait_disconnect(Request& req, Response& res) {
  auto ms = query_number(req, "ms");
  if (!ms) return bad_request(res, "ms");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(*ms);
  bool seen = false;
  while (!(seen = req.client_disconnected()) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  g_last_disconnect_seen.store(seen);
  answer(res, "200 OK", seen ? "seen" : "not seen");
}

void stream_until_disconnect(Request&, Response& res) {
  res.start("200 OK", {{"Content-Type", "application/octet-stream"}});
  std::string_view block(pattern_block().data(), kBlock);
  // Bounded (64 GiB) so that a server that never notices the client cannot spin forever.
  for (int i = 0; i < 1024 * 1024; ++i) {
    try {
      res.write(block);
    } catch (const ClientDisconnected&) {
      g_streams_ended_by_disconnect.fetch_add(1);
      throw;
    }
  }
}

void state(Request&, Response& res) {
  answer(res, "200 OK",
         "last_disconnect_seen=" + std::to_string(g_last_disconnect_seen.load() ? 1 : 0) +
             "\nstreams_ended_by_disconnect=" +
             std::to_string(g_streams_ended_by_disconnect.load()) + "\n");
}

// --- the request log ----------------------------------------------------------------------

struct SeenRequest {
  std::string method;
  std::string target;
  int minor;
  std::vector<Header> fields;
  std::string body;
};

class RequestLog {
 public:
  void add(SeenRequest request) {
    std::lock_guard lock(mutex_);
    requests_.push_back(std::move(request));
  }
  void clear() {
    std::lock_guard lock(mutex_);
    requests_.clear();
  }
  std::vector<SeenRequest> snapshot() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  std::mutex mutex_;
  std::vector<SeenRequest> requests_;
};

RequestLog& request_log() {
  static RequestLog log;
  return log;
}

// A JSON string whose code points are the bytes of `in`.
std::string latin1_json(std::string_view in) {
  std::string out = "\"";
  for (char ch : in) {
    auto b = static_cast<unsigned char>(ch);
    if (b == '"' || b == '\\') {
      out += '\\';
      out += ch;
    } else if (b >= 0x20 && b < 0x7f) {
      out += ch;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
  }
  return out + "\"";
}

std::string seen_json() {
  std::string out = "[";
  bool first = true;
  for (const SeenRequest& r : request_log().snapshot()) {
    out += first ? "\n" : ",\n";
    first = false;
    out += "{\"method\": " + latin1_json(r.method) + ", \"target\": " + latin1_json(r.target) +
           ", \"minor\": " + std::to_string(r.minor) + ", \"body\": " + latin1_json(r.body) +
           ", \"fields\": [";
    for (std::size_t i = 0; i < r.fields.size(); ++i) {
      out += (i ? ", [" : "[") + latin1_json(r.fields[i].name) + ", " +
             latin1_json(r.fields[i].value) + "]";
    }
    out += "]}";
  }
  return out + "\n]\n";
}

bool recording() {
  static const bool on = [] {
    const char* value = std::getenv("WAITRON_FIXTURE_RECORD");
    return value && std::string_view(value) == "1";
  }();
  return on;
}

// Returns true if `req` was a request-log request (answered here).
bool request_log_endpoint(Request& req, Response& res) {
  std::string_view path = req.path();
  if (path.starts_with("/__seen")) {
    std::string body = seen_json();
    res.start("200 OK", {{"Content-Type", "application/json"},
                         {"Content-Length", std::to_string(body.size())},
                         {"X-Request-Log", "seen"}});
    res.write(std::move(body));
    return true;
  }
  if (path.starts_with("/__reset")) {
    request_log().clear();
    answer(res, "200 OK", "reset");
    return true;
  }
  return false;
}

void record(Request& req, Response& res) {
  request_log().add({std::string(req.method()), std::string(req.target()), req.http_minor(),
                     req.headers(), req.body().read_all()});
  res.start("200 OK", {{"Content-Length", "2"}});
  res.write(std::string_view("ok"));
}

void handle(Request& req, Response& res) {
  if (request_log_endpoint(req, res)) return;
  if (recording()) return record(req, res);
  std::string_view path = req.path();
  if (path == "/echo") return echo(req, res);
  if (path == "/environ") return environ_lines(req, res);
  if (path == "/headers") return header_lines(req, res);
  if (path == "/sleep") return sleep_then_answer(req, res);
  if (path == "/bytes") return bytes(req, res);
  if (path == "/file") return file(req, res);
  if (path == "/chunked") return chunked(req, res);
  if (path == "/error-before") throw std::runtime_error("boom");
  if (path == "/error-after") {
    res.start("200 OK", {{"Content-Type", "text/plain"}});
    res.write(std::string_view("partial"));
    throw std::runtime_error("boom after the head");
  }
  if (path == "/deleted-fds") return answer(res, "200 OK", std::to_string(deleted_fds()));
  if (path == "/hold-upload") return hold_upload(req, res);
  if (path == "/wait-disconnect") return wait_disconnect(req, res);
  if (path == "/stream-until-disconnect") return stream_until_disconnect(req, res);
  if (path == "/state") return state(req, res);
  answer(res, "404 Not Found", "Not Found\n");
}

}  // namespace

std::shared_ptr<App> make_fixture_app() {
  return make_app([](Request& req, Response& res) { handle(req, res); });
}

}  // namespace waitron::fixture
