// waitron::Server: an HTTP/1.1 server on a libuv loop the host owns.
//
//   uv_loop_t* loop = uv_default_loop();
//   waitron::Server server(loop, adjustments, app);
//   server.start();                      // binds and listens; throws on failure
//   ...                                  // the host runs its loop
//   server.close([] { /* done */ });     // stop accepting, let in-flight requests finish
//
// Threads: every member function must be called on the loop's thread, the thread that runs
// uv_run(loop). The server starts `threads` application threads of its own (libuv's shared
// uv_queue_work pool is not used). After close()'s callback has run, the loop holds no handle
// of the server, so the host's uv_loop_close() can return 0, and the Server may be destroyed.
// Destroying a started server that was not closed is a programming error (it aborts).
// Several servers may share one loop.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <waitron/adjustments.hpp>
#include <waitron/app.hpp>

namespace waitron {

enum class LogLevel { debug, info, warning, error };
// Receives the server's log lines (logger name "waitron"). Called from the loop thread and
// from application threads, so it must be thread-safe. The default writes
// "LEVEL:waitron:message" lines to stderr, INFO and up.
using LogSink = std::function<void(LogLevel, std::string_view logger, std::string_view message)>;

// The server's live status (Server::stats()). Gauges say how things are now; the others
// count since start(). Client connections only: the status listener's own traffic is not
// counted.
struct ServerStats {
  std::uint64_t connections_open = 0;      // gauge
  std::uint64_t connections_accepted = 0;  // counter
  std::uint64_t requests_in_flight = 0;    // gauge: handed to the application, not answered
  std::uint64_t requests_served = 0;       // counter: answered by the application (any status)
  std::uint64_t queue_depth = 0;           // gauge: requests waiting for an application thread
  std::uint64_t busy_threads = 0;          // gauge: application threads running a request
  std::uint64_t bytes_received = 0;        // counter: bytes read from clients
  std::uint64_t bytes_sent = 0;            // counter: bytes written to clients
  std::uint64_t access_log_lines = 0;      // counter: access log lines written
  std::uint64_t access_log_dropped = 0;    // counter: lines dropped (queue full, write failed)
};

// One address the server listens on.
struct ListenAddress {
  std::string host;         // numeric address, or "unix" for a Unix socket
  std::string port;         // numeric port, or the socket's path
  int fd = -1;              // the listening socket, owned by the server
  std::string url() const;  // "http://127.0.0.1:8080", "http://[::1]:8080", "http://unix:/path"
};

class Server {
 public:
  // Adjustments are validated here (waitron::validate()); throws std::invalid_argument.
  Server(uv_loop_t* loop, Adjustments adjustments, std::shared_ptr<App> app, LogSink log = nullptr);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  // Binds every listen entry (or adopts `sockets`), listens, starts the application threads.
  // Throws std::system_error (address in use...) or std::invalid_argument.
  void start();
  // Stops accepting, closes idle connections, lets requests in flight finish (their
  // connections then close) for up to shutdown_timeout seconds (5), then cuts those still running
  // (their writes throw ClientDisconnected), stops the application threads, closes every handle,
  // and calls on_closed on the loop thread. Safe to call once; later calls are ignored.
  void close(std::function<void()> on_closed = nullptr);

  [[nodiscard]] std::vector<ListenAddress> addresses() const;
  // The status listener's addresses (status_listen); empty when it is off.
  [[nodiscard]] std::vector<ListenAddress> status_addresses() const;

  // Unlike the other members, stats() and reopen_access_log() may be called from any
  // thread once start() has returned. stats() reads each counter atomically; from another
  // thread than the loop's, the counters are not a snapshot of one instant.
  [[nodiscard]] ServerStats stats() const;
  // Reopens the access log file at its path (log rotation; waitron-serve does it on
  // SIGUSR1): lines of responses that end after the call go to the new file. Does nothing
  // without an access log. The file is reopened by the log's writer thread, never the loop.
  void reopen_access_log();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace waitron
