// The status listener (status_listen): listening sockets of their own, owned by the server,
// answering GET /metrics with the server's counters in Prometheus text
// (prometheus_exposition.hpp).
//
// Its connections are net::Channels like the application's, so requests are parsed, refused
// and framed by the same code; but every request is answered on the loop thread, never by
// the application or its threads, so a server whose threads are all busy still reports.
// Its traffic is counted apart from the server's stats and is not written to the access
// log. GET and HEAD of /metrics (any query) get 200; other paths 404; other methods 405
// with "Allow: GET, HEAD". It keeps at most kMaxConnections connections at a time.
//
// Ownership: the server owns the endpoint; the endpoint owns its listeners and channels.
// Threads: the loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <waitron/server.hpp>

#include "http/request_head.hpp"
#include "net/channel.hpp"
#include "net/listener.hpp"

namespace waitron::server {

// The response to one status request. Pure; any thread.
struct StatusReply {
  std::string status;               // "200 OK"
  std::vector<http::Field> fields;  // Content-Type, Content-Length (and Allow for 405)
  std::string body;
};
[[nodiscard]] StatusReply status_reply(std::string_view method, std::string_view target,
                                       const ServerStats& stats);

class StatusEndpoint final : public net::AcceptHandler, public net::ChannelHost {
 public:
  static constexpr std::size_t kMaxConnections = 16;

  struct Settings {
    uv_loop_t* loop = nullptr;
    work::PipeNotifier* notifier = nullptr;  // hands responses back to the loop
    http::DateSource* dates = nullptr;
    std::span<char> read_buffer;       // the server's scratch space for reads
    std::optional<std::string> ident;  // the Server field
    std::string temp_dir;
  };

  StatusEndpoint(const Settings& settings, std::function<ServerStats()> stats);
  StatusEndpoint(const StatusEndpoint&) = delete;
  StatusEndpoint& operator=(const StatusEndpoint&) = delete;
  ~StatusEndpoint() override;

  // Starts accepting on the sockets. Returns a libuv error or 0.
  int start(std::vector<net::ListenSocket> sockets);
  [[nodiscard]] std::vector<ListenAddress> addresses() const;
  // Closes connections idle for idle_ms, and those whose lingering close is over.
  void sweep(std::uint64_t now, std::uint64_t idle_ms);
  // Closes the listeners and every connection; on_closed runs on the loop thread once all
  // of them are closed (at once when none was open).
  void close(std::function<void()> on_closed);

 private:
  bool may_accept() override;
  void accepted(net::Listener& from, core::UniqueFd fd, work::Peer peer) override;
  void accept_failed(net::Listener& from, int error) override;
  void submit(net::Channel& channel, std::shared_ptr<http::IncomingRequest> request,
              std::shared_ptr<work::ResponsePipe> pipe) override;
  void channel_closed(net::Channel& channel) noexcept override;
  void maybe_closed() noexcept;

  net::ChannelContext ctx_;
  std::function<ServerStats()> stats_;
  std::vector<std::unique_ptr<net::Listener>> listeners_;
  std::unordered_map<net::Channel*, std::unique_ptr<net::Channel>> channels_;
  bool closing_ = false;
  bool paused_ = false;
  int listeners_closing_ = 0;
  std::function<void()> on_closed_;
};

}  // namespace waitron::server
