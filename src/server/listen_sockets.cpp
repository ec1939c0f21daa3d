#include "server/listen_sockets.hpp"

#include <arpa/inet.h>

#include <system_error>

#include "config/listen.hpp"

namespace waitron::server {

namespace {

std::vector<net::ListenSpec> listen_specs(const Adjustments& adj) {
  std::vector<net::ListenSpec> specs;
  if (!adj.sockets.empty()) {
    for (int fd : adj.sockets) {
      net::ListenSpec s;
      s.kind = net::ListenSpec::Kind::adopted;
      s.fd = fd;
      specs.push_back(s);
    }
  } else if (adj.unix_socket) {
    net::ListenSpec s;
    s.kind = net::ListenSpec::Kind::unix_path;
    s.path = *adj.unix_socket;
    s.perms = adj.unix_socket_perms;
    specs.push_back(s);
  } else {
    for (const config::ResolvedAddress& r : config::resolve_listen(adj)) {
      net::ListenSpec s;
      s.address = r.address;
      s.address_length = r.length;
      specs.push_back(s);
    }
  }
  return specs;
}

}  // namespace

std::vector<net::ListenSocket> open_listen_sockets(const Adjustments& adj) {
  std::vector<net::ListenSocket> sockets;
  for (const net::ListenSpec& s : listen_specs(adj)) {
    net::ListenSocket sock;
    if (auto ec = net::open_listen_socket(s, static_cast<int>(adj.backlog), sock)) {
      throw std::system_error(ec, "cannot listen on " + describe(s));
    }
    sockets.push_back(std::move(sock));
  }
  return sockets;
}

std::string describe(const net::ListenSpec& s) {
  switch (s.kind) {
    case net::ListenSpec::Kind::unix_path:
      return "unix:" + s.path;
    case net::ListenSpec::Kind::adopted:
      return "socket fd " + std::to_string(s.fd);
    case net::ListenSpec::Kind::inet: {
      char buf[64] = {};
      if (s.address.ss_family == AF_INET6) {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(&s.address);
        inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
        return "[" + std::string(buf) + "]:" + std::to_string(ntohs(in6->sin6_port));
      }
      auto* in = reinterpret_cast<const sockaddr_in*>(&s.address);
      inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
      return std::string(buf) + ":" + std::to_string(ntohs(in->sin_port));
    }
  }
  return "?";
}

}  // namespace waitron::server
