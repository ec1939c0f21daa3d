#include "work/cgi_environ.hpp"

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

Environ build_environ(const http::RequestHead& head, std::optional<std::uint64_t> body_length,
                      const EnvironSettings& settings, const Peer& peer) {
  Environ env;
  env["REQUEST_METHOD"] = head.method;
  env["SCRIPT_NAME"] = settings.url_prefix;
  env["PATH_INFO"] = path_info(head.target, settings.url_prefix);
  env["QUERY_STRING"] = std::string(http::split_target(head.target).query);
  env["REQUEST_URI"] = head.target;
  env["SERVER_NAME"] = settings.server_name;
  env["SERVER_PORT"] = peer.server_port;
  env["SERVER_PROTOCOL"] = head.version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
  if (settings.ident) env["SERVER_SOFTWARE"] = *settings.ident;
  env["REMOTE_ADDR"] = peer.remote_addr;
  env["REMOTE_HOST"] = peer.remote_addr;
  // waitress gives str(None) for a Unix socket's port.
  env["REMOTE_PORT"] = peer.remote_port ? std::to_string(*peer.remote_port) : "None";
  env["wsgi.url_scheme"] = settings.url_scheme;
  for (const http::Field& f : head.fields) {
    std::string key;
    if (http::iequals(f.name, "content-length")) {
      // A chunked body's decoded length is set below.
      if (head.chunked) continue;
      key = "CONTENT_LENGTH";
    } else if (http::iequals(f.name, "content-type")) {
      key = "CONTENT_TYPE";
    } else if (http::iequals(f.name, "transfer-encoding")) {
      continue;  // decoded here; never passed on (HTTP/1.1 only reaches this point)
    } else {
      key = "HTTP_";
      for (char c : f.name)
        key.push_back(c == '-' ? '_' : (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c);
    }
    auto [it, inserted] = env.try_emplace(std::move(key), f.value);
    if (!inserted) it->second.append(", ").append(f.value);
  }
  if (head.chunked && body_length) env["CONTENT_LENGTH"] = std::to_string(*body_length);
  return env;
}

}  // namespace waitron::work
