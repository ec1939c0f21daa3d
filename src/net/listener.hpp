// Listening sockets and the accept loop (waitress server.py, minus the dispatcher).
//
// open_listen_socket() makes one listening socket: a TCP socket bound to an address
// (SO_REUSEADDR; IPV6_V6ONLY for IPv6), a Unix socket at a path (a stale socket file there is
// removed first, the file gets unix_socket_perms), or an already-bound socket handed in by
// the host or systemd (listen() is called on it, it is not bound again).
//
// A Listener watches its socket with a uv_poll_t and accepts up to 64 connections per
// wake-up, non-blocking and close-on-exec, with TCP_NODELAY for TCP; each goes to the
// AcceptHandler with the peer's address as the environ reports it. Transient accept errors
// (the peer already gone) are skipped; running out of descriptors pauses accepting and is
// reported, so the loop never spins.
//
// Threads: the loop thread only. The Listener owns its socket; it closes it after its
// handle is closed.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <system_error>

#include "core/unique_fd.hpp"
#include "work/cgi_environ.hpp"

namespace waitron::net {

struct ListenSpec {
  enum class Kind { inet, unix_path, adopted };
  Kind kind = Kind::inet;
  sockaddr_storage address{};  // inet
  socklen_t address_length = 0;
  std::string path;            // unix_path
  std::uint32_t perms = 0600;  // unix_path
  int fd = -1;                 // adopted (not owned until opened)
};

struct ListenSocket {
  core::UniqueFd fd;
  bool is_unix = false;
  std::string host;  // numeric address, or "unix"
  std::string port;  // numeric port, or the path
};

std::error_code open_listen_socket(const ListenSpec& spec, int backlog, ListenSocket& out);

class Listener;

class AcceptHandler {
 public:
  virtual ~AcceptHandler() = default;
  virtual void accepted(Listener& from, core::UniqueFd fd, work::Peer peer) = 0;
  // accept() failed with an error that retrying at once would not cure (EMFILE...).
  virtual void accept_failed(Listener& from, int error) = 0;
  // False while the server is at connection_limit.
  virtual bool may_accept() = 0;

 protected:
  AcceptHandler() = default;
  AcceptHandler(const AcceptHandler&) = default;
  AcceptHandler& operator=(const AcceptHandler&) = default;
};

class Listener {
 public:
  Listener(uv_loop_t* loop, ListenSocket socket, AcceptHandler& handler) noexcept;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  ~Listener();

  int start();
  void pause();
  void resume();
  // Closes the handle, then the socket; on_closed runs on the loop thread.
  void close(std::function<void()> on_closed);

  [[nodiscard]] const ListenSocket& socket() const noexcept { return socket_; }

 private:
  static void on_poll(uv_poll_t* handle, int status, int events) noexcept;
  void accept_some() noexcept;

  uv_loop_t* loop_;
  ListenSocket socket_;
  AcceptHandler& handler_;
  uv_poll_t poll_{};
  bool open_ = false;
  bool polling_ = false;
  std::function<void()> on_closed_;
};

}  // namespace waitron::net
