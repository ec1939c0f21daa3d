// waitron::Response: how a native application answers, in WSGI's shape.
//
// start() gives the status and fields (as WSGI's start_response), then write() and
// send_file() give the body, in order. The head goes out on the first non-empty write, or
// when the application returns. Framing is the server's: a Content-Length field is
// honoured (a longer body is cut, a shorter one closes the connection), otherwise HTTP/1.1
// responses are chunked, one chunk per write, and HTTP/1.0 ones end at the close.
//
// The server creates one Response per request on the application thread and destroys it
// after the application returns. Only that thread may call it. write() and send_file() may
// block while the client is slower than the application (outbuf_high_watermark).
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <waitron/request.hpp>

namespace waitron {

// Thrown by start() for a status or field that WSGI refuses: a status that is not
// "DDD reason", a field name that is not a token, CR or LF anywhere, a hop-by-hop field
// (Connection, Keep-Alive, Proxy-Authenticate, Proxy-Authorization, TE, Trailer,
// Transfer-Encoding, Upgrade), or a second start() once the head was sent.
class ResponseError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Thrown by write() and send_file() once the client is gone. The server logs
// "Client disconnected while serving <path>" and frees the connection.
class ClientDisconnected : public std::runtime_error {
 public:
  ClientDisconnected() : std::runtime_error("client disconnected") {}
};

// Thrown by an application to end its request silently: no response (or the rest of it),
// no log line; the connection closes. (The Python bridge uses it for waitress's rule on
// an OSError raised by the application while log_socket_errors is off.)
class ResponseAbandoned : public std::runtime_error {
 public:
  ResponseAbandoned() : std::runtime_error("response abandoned") {}
};

class Response {
 public:
  virtual ~Response() = default;

  // Sets the status ("200 OK") and fields. May be called again to replace them until the
  // head has been sent.
  virtual void start(std::string status, std::vector<Header> headers) = 0;
  // Sends body bytes (copied, or moved without a copy).
  virtual void write(std::string_view bytes) = 0;
  virtual void write(std::string&& bytes) = 0;
  void write(const char* bytes) { write(std::string_view(bytes)); }
  // Sends body bytes without copying them: they must stay valid while `owner` lives. The
  // server drops its reference once the bytes are written (or the client is gone), on
  // whichever thread that happens, usually the loop thread: the owner's deleter must be
  // safe there (cheap, thread-safe, no GIL).
  virtual void write_shared(std::string_view bytes, std::shared_ptr<const void> owner) = 0;
  // Sends `length` bytes of the file open at `fd` from `offset`, with sendfile, without
  // reading them through the application. The server duplicates fd; the caller keeps it.
  virtual void send_file(int fd, std::uint64_t offset, std::uint64_t length) = 0;
  [[nodiscard]] virtual bool headers_sent() const = 0;

 protected:
  Response() = default;
  Response(const Response&) = default;
  Response& operator=(const Response&) = default;
};

}  // namespace waitron
