#include "work/cgi_environ.hpp"

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http/rfc9110.hpp"
#include "http/target.hpp"

namespace waitron::work {

std::string path_info(std::string_view target, std::string_view url_prefix) {
  std::string path = http::percent_decode(http::split_target(target).path);
  // waitress: a path starting with any number of slashes starts with exactly one.
  if (!path.empty() && path[0] == '/') {
    std::size_t first = path.find_first_not_of('/');
    path.erase(0, (first == std::string::npos ? path.size() : first) - 1);
  }
  if (!url_prefix.empty()) {
    if (path == url_prefix) {
      path.clear();
    } else if (path.size() > url_prefix.size() &&
               path.compare(0, url_prefix.size(), url_prefix) == 0 &&
               path[url_prefix.size()] == '/') {
      path.erase(0, url_prefix.size());
    }
  }
  return path;
}

namespace {

// Which variable a field gives: CONTENT_LENGTH, CONTENT_TYPE, HTTP_ and its name, or none
// (Transfer-Encoding, decoded here and never passed on; a chunked body's Content-Length,
// whose decoded length is set apart).
enum class KeyKind { none, content_length, content_type, http };

KeyKind key_kind(const http::Field& f, bool chunked) {
  if (http::iequals(f.name, "content-length")) {
    return chunked ? KeyKind::none : KeyKind::content_length;
  }
  if (http::iequals(f.name, "content-type")) return KeyKind::content_type;
  if (http::iequals(f.name, "transfer-encoding")) return KeyKind::none;
  return KeyKind::http;
}

// Up to this many fields, duplicates are found by scanning (quadratic, but cheaper than a
// map for the few fields of a usual request); past it, through a map.
constexpr std::size_t kScanFields = 16;

char key_char(char c) {
  return c == '-' ? '_' : (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
}

// Two fields of kind http name the same variable ("X-Forwarded-For", "x_forwarded_for").
bool same_http_key(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (key_char(a[i]) != key_char(b[i])) return false;
  }
  return true;
}

}  // namespace

void visit_environ(const http::RequestHead& head, std::optional<std::uint64_t> body_length,
                   const EnvironSettings& settings, const Peer& peer,
                   const Request::EnvironVisitor& visit) {
  visit("REQUEST_METHOD", head.method);
  visit("SCRIPT_NAME", settings.url_prefix);
  visit("PATH_INFO", path_info(head.target, settings.url_prefix));
  visit("QUERY_STRING", http::split_target(head.target).query);
  visit("REQUEST_URI", head.target);
  visit("SERVER_NAME", settings.server_name);
  visit("SERVER_PORT", peer.server_port);
  visit("SERVER_PROTOCOL", head.version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1");
  if (settings.ident) visit("SERVER_SOFTWARE", *settings.ident);
  visit("REMOTE_ADDR", peer.remote_addr);
  visit("REMOTE_HOST", peer.remote_addr);
  // waitress gives str(None) for a Unix socket's port.
  visit("REMOTE_PORT", peer.remote_port ? std::to_string(*peer.remote_port) : "None");
  visit("wsgi.url_scheme", settings.url_scheme);

  const std::vector<http::Field>& fields = head.fields;
  auto key_of = [&](const http::Field& f, KeyKind kind, std::string& key) {
    if (kind == KeyKind::content_length) {
      key = "CONTENT_LENGTH";
    } else if (kind == KeyKind::content_type) {
      key = "CONTENT_TYPE";
    } else {
      key = "HTTP_";
      for (char c : f.name) key.push_back(key_char(c));
    }
  };
  if (fields.size() > kScanFields) {
    // Many fields (a client may send thousands within max_request_header_size): each
    // variable's values gathered through a map, in field order, in O(n log n).
    std::vector<std::pair<std::string, std::string>> vars;
    std::unordered_map<std::string, std::size_t> index;
    std::string key;
    for (const http::Field& f : fields) {
      KeyKind kind = key_kind(f, head.chunked);
      if (kind == KeyKind::none) continue;
      key_of(f, kind, key);
      auto [it, inserted] = index.try_emplace(key, vars.size());
      if (inserted) {
        vars.emplace_back(key, f.value);
      } else {
        vars[it->second].second.append(", ").append(f.value);
      }
    }
    for (const auto& [name, value] : vars) visit(name, value);
  } else {
    auto same = [&](std::size_t i, KeyKind kind, std::size_t j) {
      KeyKind other = key_kind(fields[j], head.chunked);
      return other == kind &&
             (kind != KeyKind::http || same_http_key(fields[i].name, fields[j].name));
    };
    std::string key, joined;
    for (std::size_t i = 0; i < fields.size(); ++i) {
      KeyKind kind = key_kind(fields[i], head.chunked);
      if (kind == KeyKind::none) continue;
      // A variable named by several fields is given once, at its first field, with their
      // values joined in order (a few fields: a scan is cheaper than a map).
      bool given = false;
      for (std::size_t j = 0; j < i && !given; ++j) given = same(i, kind, j);
      if (given) continue;
      key_of(fields[i], kind, key);
      std::string_view value = fields[i].value;
      for (std::size_t j = i + 1; j < fields.size(); ++j) {
        if (!same(i, kind, j)) continue;
        if (value.data() != joined.data()) joined = value;
        joined.append(", ").append(fields[j].value);
        value = joined;
      }
      visit(key, value);
    }
  }
  if (head.chunked && body_length) visit("CONTENT_LENGTH", std::to_string(*body_length));
}

Environ build_environ(const http::RequestHead& head, std::optional<std::uint64_t> body_length,
                      const EnvironSettings& settings, const Peer& peer) {
  Environ env;
  visit_environ(head, body_length, settings, peer,
                [&](std::string_view key, std::string_view value) {
                  env.insert_or_assign(std::string(key), std::string(value));
                });
  return env;
}

}  // namespace waitron::work
