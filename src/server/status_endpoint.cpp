// The status listener: see status_endpoint.hpp.
#include "server/status_endpoint.hpp"

#include <utility>

#include "server/prometheus_exposition.hpp"

namespace waitron::server {

namespace {

// Limits for the endpoint's requests: a scrape is a short GET.
constexpr std::uint64_t kMaxHeadBytes = 16 * 1024;
constexpr std::uint64_t kMaxBodyBytes = 64 * 1024;

StatusReply text_reply(std::string status, std::string body) {
  StatusReply r;
  r.status = std::move(status);
  r.body = std::move(body);
  r.fields = {{"Content-Type", "text/plain; charset=utf-8"},
              {"Content-Length", std::to_string(r.body.size())}};
  return r;
}

}  // namespace

StatusReply status_reply(std::string_view method, std::string_view target,
                         const ServerStats& stats) {
  std::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics") return text_reply("404 Not Found", "Not Found\n");
  if (method != "GET" && method != "HEAD") {
    StatusReply r = text_reply("405 Method Not Allowed", "Method Not Allowed\n");
    r.fields.push_back({"Allow", "GET, HEAD"});
    return r;
  }
  StatusReply r;
  r.status = "200 OK";
  r.body = prometheus_exposition(stats);
  r.fields = {{"Content-Type", std::string(kPrometheusContentType)},
              {"Content-Length", std::to_string(r.body.size())}};
  return r;
}

StatusEndpoint::StatusEndpoint(const Settings& settings, std::function<ServerStats()> stats)
    : stats_(std::move(stats)) {
  ctx_.loop = settings.loop;
  ctx_.host = this;
  ctx_.notifier = settings.notifier;
  ctx_.dates = settings.dates;
  ctx_.read_buffer = settings.read_buffer;
  ctx_.connection.parser.max_head_bytes = kMaxHeadBytes;
  ctx_.connection.parser.max_body_bytes = kMaxBodyBytes;
  ctx_.connection.parser.temp_dir = settings.temp_dir;
  ctx_.connection.ident = settings.ident;
}

StatusEndpoint::~StatusEndpoint() = default;

int StatusEndpoint::start(std::vector<net::ListenSocket> sockets) {
  for (auto& sock : sockets) {
    auto listener = std::make_unique<net::Listener>(ctx_.loop, std::move(sock), *this);
    if (int rc = listener->start(); rc != 0) return rc;
    listeners_.push_back(std::move(listener));
  }
  return 0;
}

std::vector<ListenAddress> StatusEndpoint::addresses() const {
  std::vector<ListenAddress> out;
  for (auto& l : listeners_) {
    out.push_back(ListenAddress{l->socket().host, l->socket().port, l->socket().fd.get()});
  }
  return out;
}

bool StatusEndpoint::may_accept() {
  return !closing_ && channels_.size() < kMaxConnections;
}

void StatusEndpoint::accepted(net::Listener&, core::UniqueFd fd, work::Peer peer) {
  auto channel = std::make_unique<net::Channel>(ctx_, std::move(fd), std::move(peer));
  net::Channel* raw = channel.get();
  channels_.emplace(raw, std::move(channel));
  if (raw->start() != 0) {
    channels_.erase(raw);
    return;
  }
  if (channels_.size() >= kMaxConnections && !paused_) {
    paused_ = true;
    for (auto& l : listeners_) l->pause();
  }
}

void StatusEndpoint::accept_failed(net::Listener& from, int) {
  // Out of descriptors: the next sweep (or a closed connection) resumes.
  from.pause();
  paused_ = true;
}

void StatusEndpoint::submit(net::Channel&, std::shared_ptr<http::IncomingRequest> request,
                            std::shared_ptr<work::ResponsePipe> pipe) {
  using Kind = work::ResponseEvent::Kind;
  StatusReply reply = status_reply(request->head.method, request->head.target, stats_());
  work::ResponseEvent start = work::ResponseEvent::of(Kind::start);
  start.head.status = std::move(reply.status);
  start.head.fields = std::move(reply.fields);
  pipe->push(std::move(start));
  work::ResponseEvent bytes = work::ResponseEvent::of(Kind::bytes);
  bytes.bytes = std::move(reply.body);
  pipe->push(std::move(bytes));
  pipe->push(work::ResponseEvent::of(Kind::finish));
}

void StatusEndpoint::channel_closed(net::Channel& channel) noexcept {
  channels_.erase(&channel);
  if (closing_) {
    maybe_closed();
  } else if (paused_) {
    paused_ = false;
    for (auto& l : listeners_) l->resume();
  }
}

void StatusEndpoint::sweep(std::uint64_t now, std::uint64_t idle_ms) {
  std::vector<net::Channel*> expired;
  // The application port's rule (a few slowloris clients must not take every status
  // connection either).
  for (auto& [raw, owned] : channels_) {
    if (raw->expiry(now, true, idle_ms) != net::Channel::Expiry::none) expired.push_back(raw);
  }
  for (net::Channel* ch : expired) ch->close_now();
  if (paused_ && !closing_ && channels_.size() < kMaxConnections) {
    paused_ = false;
    for (auto& l : listeners_) l->resume();
  }
}

void StatusEndpoint::close(std::function<void()> on_closed) {
  if (closing_) return;
  closing_ = true;
  on_closed_ = std::move(on_closed);
  for (auto& l : listeners_) {
    ++listeners_closing_;
    l->close([this] {
      --listeners_closing_;
      maybe_closed();
    });
  }
  std::vector<net::Channel*> all;
  for (auto& [raw, owned] : channels_) all.push_back(raw);
  for (net::Channel* ch : all) ch->close_now();  // a scrape is not worth waiting for
  maybe_closed();
}

void StatusEndpoint::maybe_closed() noexcept {
  if (!closing_ || listeners_closing_ > 0 || !channels_.empty() || !on_closed_) return;
  std::exchange(on_closed_, nullptr)();
}

}  // namespace waitron::server
