#include "net/listener.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace waitron::net {

namespace {

std::error_code last_error() {
  return {errno, std::generic_category()};
}

// The numeric host and port of an address, as getnameinfo(NI_NUMERICHOST) gives them.
void describe(const sockaddr* sa, std::string& host, std::string& port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    port = std::to_string(ntohs(in->sin_port));
  } else if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    port = std::to_string(ntohs(in6->sin6_port));
  }
  host = buf;
}

std::error_code set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return last_error();
  return {};
}

std::error_code open_inet(const ListenSpec& spec, int backlog, ListenSocket& out) {
  int family = spec.address.ss_family;
  core::UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!fd) return last_error();
  int one = 1;
  if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) return last_error();
  if (family == AF_INET6 && setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) {
    return last_error();
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&spec.address), spec.address_length) < 0 ||
      ::listen(fd.get(), backlog) < 0) {
    return last_error();
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len) < 0) return last_error();
  describe(reinterpret_cast<sockaddr*>(&bound), out.host, out.port);
  out.fd = std::move(fd);
  out.is_unix = false;
  return {};
}

std::error_code open_unix(const ListenSpec& spec, int backlog, ListenSocket& out) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (spec.path.empty() || spec.path.size() >= sizeof addr.sun_path) {
    return std::make_error_code(std::errc::filename_too_long);
  }
  std::memcpy(addr.sun_path, spec.path.data(), spec.path.size());
  // waitress removes a stale socket file, and only a socket file.
  struct stat st {};
  if (lstat(spec.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(spec.path.c_str());
  core::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return last_error();
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0)
    return last_error();
  if (::chmod(spec.path.c_str(), static_cast<mode_t>(spec.perms)) < 0 ||
      ::listen(fd.get(), backlog) < 0) {
    return last_error();
  }
  out.fd = std::move(fd);
  out.is_unix = true;
  out.host = "unix";
  out.port = spec.path;
  return {};
}

std::error_code adopt(const ListenSpec& spec, int backlog, ListenSocket& out) {
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (getsockname(spec.fd, reinterpret_cast<sockaddr*>(&bound), &len) < 0) return last_error();
  if (auto ec = set_nonblocking(spec.fd)) return ec;
  if (::listen(spec.fd, backlog) < 0) return last_error();
  if (bound.ss_family == AF_UNIX) {
    auto* un = reinterpret_cast<sockaddr_un*>(&bound);
    out.is_unix = true;
    out.host = "unix";
    out.port = un->sun_path;
  } else {
    describe(reinterpret_cast<sockaddr*>(&bound), out.host, out.port);
  }
  out.fd.reset(spec.fd);
  return {};
}

}  // namespace

std::error_code open_listen_socket(const ListenSpec& spec, int backlog, ListenSocket& out) {
  switch (spec.kind) {
    case ListenSpec::Kind::inet:
      return open_inet(spec, backlog, out);
    case ListenSpec::Kind::unix_path:
      return open_unix(spec, backlog, out);
    case ListenSpec::Kind::adopted:
      return adopt(spec, backlog, out);
  }
  return std::make_error_code(std::errc::invalid_argument);
}

Listener::Listener(uv_loop_t* loop, ListenSocket socket, AcceptHandler& handler) noexcept
    : loop_(loop), socket_(std::move(socket)), handler_(handler) {}

Listener::~Listener() = default;

int Listener::start() {
  if (int rc = uv_poll_init(loop_, &poll_, socket_.fd.get()); rc != 0) return rc;
  poll_.data = this;
  open_ = true;
  resume();
  return 0;
}

void Listener::pause() {
  if (!open_ || !polling_) return;
  uv_poll_stop(&poll_);
  polling_ = false;
}

void Listener::resume() {
  if (!open_ || polling_) return;
  if (uv_poll_start(&poll_, UV_READABLE, &Listener::on_poll) == 0) polling_ = true;
}

void Listener::close(std::function<void()> on_closed) {
  if (!open_) {
    socket_.fd.reset();
    if (on_closed) on_closed();
    return;
  }
  open_ = false;
  polling_ = false;
  on_closed_ = std::move(on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), [](uv_handle_t* h) {
    auto* self = static_cast<Listener*>(h->data);
    self->socket_.fd.reset();  // only now: libuv must not watch a closed descriptor
    if (auto cb = std::exchange(self->on_closed_, nullptr)) cb();
  });
}

void Listener::on_poll(uv_poll_t* handle, int status, int) noexcept {
  auto* self = static_cast<Listener*>(handle->data);
  if (status < 0) return;
  self->accept_some();
}

void Listener::accept_some() noexcept {
  for (int i = 0; i < 64 && open_ && handler_.may_accept(); ++i) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    int fd = ::accept4(socket_.fd.get(), reinterpret_cast<sockaddr*>(&addr), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == EAGAIN) return;
      // The peer reset or vanished before accept (waitress's CVE-2024-49769 lesson: the
      // address comes from accept() itself, and a failed accept never leaves state behind).
      if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM) continue;
      handler_.accept_failed(*this, err);
      return;
    }
    core::UniqueFd conn(fd);
    work::Peer peer;
    peer.server_port = socket_.port;
    if (socket_.is_unix) {
      peer.remote_addr = "localhost";
    } else {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::string port;
      describe(reinterpret_cast<sockaddr*>(&addr), peer.remote_addr, port);
      peer.remote_port = static_cast<std::uint16_t>(std::stoul(port.empty() ? "0" : port));
    }
    try {
      handler_.accepted(*this, std::move(conn), std::move(peer));
    } catch (...) {
      // Out of memory for the channel: the connection is dropped (conn closed it).
    }
  }
}

}  // namespace waitron::net
