// Helpers shared by the core unit tests: a private temporary folder, counts of
// open descriptors and folder entries, reading a Buffer back, and printing
// std::error_code in failed checks.
//
// The temporary folder is a fresh subfolder of $WAITRON_TEST_TMPDIR (created
// if missing; a folder under /tmp when the variable is unset), private to this
// process so that other test executables running in parallel cannot put
// entries in it. It is removed at exit if it is empty, as it must be.
//
// Threads: the helpers are meant for the test's main thread.
#pragma once

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <doctest/doctest.h>

#include "core/buffer.hpp"

// Failed checks on error codes print "generic:2 (No such file or directory)".
template <>
struct doctest::StringMaker<std::error_code> {
  static doctest::String convert(const std::error_code& ec) {
    const std::string text = std::string(ec.category().name()) + ":" + std::to_string(ec.value()) +
                             " (" + ec.message() + ")";
    return doctest::String(text.c_str());
  }
};

namespace waitron::core::test {

// Creates every missing folder of `path`, like mkdir -p.
inline void make_folders(const std::string& path) {
  for (std::size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    const std::string prefix = path.substr(0, slash);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) std::abort();
    if (slash == std::string::npos) return;
  }
}

class TempFolder {
 public:
  TempFolder() {
    const char* base = std::getenv("WAITRON_TEST_TMPDIR");
    std::string root = (base != nullptr && *base != '\0') ? base : "/tmp/waitron-unit-tmp";
    make_folders(root);
    std::string pattern = root + "/core-XXXXXX";
    std::vector<char> chars(pattern.begin(), pattern.end());
    chars.push_back('\0');
    if (::mkdtemp(chars.data()) == nullptr) std::abort();
    path_ = chars.data();
  }
  ~TempFolder() { ::rmdir(path_.c_str()); }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The process's private temporary folder, made on first use.
inline const std::string& temp_dir() {
  static const TempFolder folder;
  return folder.path();
}

// The number of entries of `path` other than "." and "..", or -1 if it cannot
// be opened.
inline long count_entries(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return -1;
  long count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") ++count;
  }
  ::closedir(dir);
  return count;
}

// The number of descriptors open in this process (the entries of
// /proc/self/fd, counted the same way every time, so comparisons are exact).
inline long count_open_fds() {
  return count_entries("/proc/self/fd");
}

// Every unread byte of `buffer`, read through peek() in small pieces so that
// reads cross internal boundaries. Returns "<peek error>" if a peek fails.
inline std::string read_all(const Buffer& buffer, std::size_t piece = 4093) {
  std::string out;
  std::vector<char> chunk(piece);
  for (;;) {
    std::size_t copied = 0;
    if (buffer.peek(out.size(), chunk, copied)) return "<peek error>";
    if (copied == 0) return out;
    out.append(chunk.data(), copied);
  }
}

// A deterministic text of `n` bytes whose content depends on `seed`, so that
// misplaced bytes show up.
inline std::string pattern(std::size_t n, unsigned seed = 0) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    s[i] = static_cast<char>('a' + (i * 7 + seed * 13 + i / 26) % 26);
  }
  return s;
}

}  // namespace waitron::core::test
