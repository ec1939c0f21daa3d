// waitron::Request: what a native application sees of one HTTP request, in WSGI's shape.
//
// The server builds one Request per request on the application thread that runs it and
// destroys it when the application returns. Every view it hands out stays valid until then.
// One application thread uses a Request at a time; only client_disconnected() may be called
// from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace waitron {

// One request field, the name as the client sent it, the value without surrounding spaces.
struct Header {
  std::string name;
  std::string value;
};

// The CGI-style variables waitress puts in a WSGI environ (REQUEST_METHOD, SCRIPT_NAME,
// PATH_INFO, QUERY_STRING, REQUEST_URI, SERVER_NAME, SERVER_PORT, SERVER_PROTOCOL,
// SERVER_SOFTWARE, REMOTE_ADDR, REMOTE_HOST, REMOTE_PORT, CONTENT_TYPE, CONTENT_LENGTH and
// HTTP_* for every other field, repeated fields joined with ", "), and wsgi.url_scheme.
// Strings are bytes as received (PEP 3333's latin-1 view). Behind a trusted proxy, the
// server rewrites them from the proxy headers as waitress does (README, "Behind a reverse
// proxy"), and removes the proxy headers it does not trust.
using Environ = std::map<std::string, std::string, std::less<>>;

// The body could not be received: the client left, or the body was malformed or too
// large. Thrown by reads of a body that is still arriving (stream_request_body).
class BodyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The request body, in memory or in a temporary file past inbuf_overflow. Normally it is
// complete before the application starts. With stream_request_body the application starts
// at the head and the body keeps arriving: reads then wait (read(), read_at(), size(),
// remaining()) until the bytes they need arrive, the body ends, or it fails (BodyError).
// read() and its helpers move a position from the front; read_at() and contiguous() give
// random access without moving it.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Copies up to n bytes from the position into out, advances, and returns how many (0 at
  // the end). Waits for at least one byte of a body still arriving.
  virtual std::size_t read(char* out, std::size_t n) = 0;
  // The number of bytes after the position (waits for a body still arriving to end).
  [[nodiscard]] virtual std::uint64_t remaining() const = 0;
  // The body's whole length (waits for a body still arriving to end).
  [[nodiscard]] virtual std::uint64_t size() const = 0;
  // The bytes received so far; never waits.
  [[nodiscard]] virtual std::uint64_t available() const = 0;
  // True once every byte of the body has been received.
  [[nodiscard]] virtual bool complete() const = 0;
  // Copies up to n bytes starting `offset` bytes into the body; returns how many (0 past
  // the end). Waits for at least one byte of a body still arriving.
  virtual std::size_t read_at(std::uint64_t offset, char* out, std::size_t n) const = 0;
  // The whole body as one view while it is complete and in memory (zero-copy access),
  // else nullopt.
  // Valid as long as this reader (or one shared from it) exists.
  [[nodiscard]] virtual std::optional<std::string_view> contiguous() const = 0;
  // A new reader over the same body, at position 0, that keeps the body alive after the
  // request ends (for a Python wsgi.input an application may keep).
  [[nodiscard]] virtual std::shared_ptr<BodyReader> share() const = 0;

  // Up to n bytes.
  std::string read(std::size_t n);
  // Up to and including the next '\n', at most `limit` bytes.
  virtual std::string readline(std::size_t limit = SIZE_MAX);
  // Everything not read yet.
  std::string read_all();

 protected:
  BodyReader() = default;
  BodyReader(const BodyReader&) = default;
  BodyReader& operator=(const BodyReader&) = default;
};

class Request {
 public:
  virtual ~Request() = default;

  [[nodiscard]] virtual std::string_view method() const = 0;
  // The request-target exactly as sent ("/a%20b?x=1").
  [[nodiscard]] virtual std::string_view target() const = 0;
  // PATH_INFO: the path percent-decoded, url_prefix removed, leading slashes collapsed.
  [[nodiscard]] virtual std::string_view path() const = 0;
  // QUERY_STRING: the raw bytes after '?', or empty.
  [[nodiscard]] virtual std::string_view query() const = 0;
  // 0 for HTTP/1.0, 1 for HTTP/1.1.
  [[nodiscard]] virtual int http_minor() const = 0;
  [[nodiscard]] virtual const std::vector<Header>& headers() const = 0;
  // The first field named `name` (ASCII case-insensitive).
  [[nodiscard]] virtual std::optional<std::string_view> header(std::string_view name) const = 0;
  [[nodiscard]] virtual const Environ& environ() const = 0;
  // Calls visit(key, value) once for each variable of environ(), in no set order. The
  // server's own requests do it without building environ()'s map (the WSGI bridge builds
  // its dict so); by default it walks environ(). The views last for the call only.
  using EnvironVisitor = std::function<void(std::string_view key, std::string_view value)>;
  virtual void visit_environ(const EnvironVisitor& visit) const {
    for (const auto& [key, value] : environ()) visit(key, value);
  }
  // The peer: an IP address and port for TCP; "localhost" and no port for a Unix socket.
  // Behind a trusted proxy, the client the proxy headers name (REMOTE_ADDR and REMOTE_PORT;
  // no port when the forwarded one is not a number).
  [[nodiscard]] virtual std::string_view remote_addr() const = 0;
  [[nodiscard]] virtual std::optional<std::uint16_t> remote_port() const = 0;
  [[nodiscard]] virtual BodyReader& body() = 0;
  // True once the client is known to be gone; the application may stop early.
  [[nodiscard]] virtual bool client_disconnected() const = 0;
  // Calls matches(name, value) for the fields of headers(), in order, until it returns true,
  // and says whether it did. The server's own requests do it without building headers()'s
  // vector; by default it walks headers(). The views last for the call only. Declared last
  // so that the earlier virtual functions keep their vtable slots for applications built
  // against the previous header.
  using HeaderPredicate = std::function<bool(std::string_view name, std::string_view value)>;
  [[nodiscard]] virtual bool any_header(const HeaderPredicate& matches) const {
    for (const Header& h : headers()) {
      if (matches(h.name, h.value)) return true;
    }
    return false;
  }

 protected:
  Request() = default;
  Request(const Request&) = default;
  Request& operator=(const Request&) = default;
};

}  // namespace waitron
