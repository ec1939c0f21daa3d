// The listening sockets an Adjustments asks for: `sockets` adopted, else the Unix socket
// at `unix_socket`, else every resolved `listen` entry, bound and listening.
//
// Server::start() opens its sockets here; so does waitron-serve's supervisor
// (src/runner/supervisor.hpp), which opens them once, before it forks, and lets every
// worker process inherit them, without starting a thread or a loop.
//
// Threads: any thread; it blocks while getaddrinfo() resolves the listen entries.
#pragma once

#include <string>
#include <vector>

#include <waitron/adjustments.hpp>

#include "net/listener.hpp"

namespace waitron::server {

// Opens every socket, in order. Throws std::system_error "cannot listen on ADDRESS" (the
// sockets opened so far are closed), or the config layer's std::invalid_argument for a
// listen entry that does not resolve. Adopted descriptors belong to the result once it
// is returned.
[[nodiscard]] std::vector<net::ListenSocket> open_listen_sockets(const Adjustments& adj);

// "127.0.0.1:8080", "[::1]:8080", "unix:/path" or "socket fd 3", for error messages.
[[nodiscard]] std::string describe(const net::ListenSpec& spec);

}  // namespace waitron::server
