// The CGI variables of a request, exactly as waitress puts them in a WSGI environ
// (waitress-behaviour.md §4.10), and wsgi.url_scheme, as plain strings. The native Request exposes
// them as environ(); the Python bridge builds the WSGI dict from the same variables through
// visit_environ(). Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "http/request_head.hpp"
#include "waitron/request.hpp"

namespace waitron::work {

// What the environ needs besides the request: narrow facts from the Adjustments and the
// connection.
struct EnvironSettings {
  std::string server_name = "waitress.invalid";
  std::string url_prefix;           // "" or "/x" (slash-fixed)
  std::string url_scheme = "http";  // wsgi.url_scheme
  std::optional<std::string> ident = "waitron";
};

struct Peer {
  std::string remote_addr;                   // "127.0.0.1", or "localhost" for a Unix socket
  std::optional<std::uint16_t> remote_port;  // none for a Unix socket
  std::string server_port;                   // the listening port, or the socket's path
};

// PATH_INFO: the decoded path with its leading slashes collapsed and url_prefix removed.
std::string path_info(std::string_view target, std::string_view url_prefix);

// body_length: the decoded body's length, for CONTENT_LENGTH of a chunked request; nullopt
// while a streamed chunked body is still arriving (CONTENT_LENGTH is then absent).
Environ build_environ(const http::RequestHead& head, std::optional<std::uint64_t> body_length,
                      const EnvironSettings& settings, const Peer& peer);

// The same variables, each handed to `visit` once (fields that name the same variable
// already joined with ", "), without building a map.
void visit_environ(const http::RequestHead& head, std::optional<std::uint64_t> body_length,
                   const EnvironSettings& settings, const Peer& peer,
                   const Request::EnvironVisitor& visit);

}  // namespace waitron::work
