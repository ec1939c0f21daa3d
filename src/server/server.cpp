// The composition root: waitron::Server (include/waitron/server.hpp).
//
// It turns the Adjustments into the narrow settings each layer needs, opens the listening
// sockets, owns the channels, the application threads and a one-second maintenance timer
// (lingering closes, the channel_timeout sweep every cleanup_interval, accept retries), and
// runs the graceful close. It also owns the access log's writer (core/access_log) and the
// status listener (status_endpoint). Everything here runs on the loop thread, except the log
// adapter, which application threads call too, and stats() and reopen_access_log(), which
// read atomic counters and queue a request for the access log's thread.
#include <waitron/server.hpp>

#include <arpa/inet.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <ctime>
#include <limits>
#include <system_error>
#include <unordered_map>

#include "config/listen.hpp"
#include "core/access_log.hpp"
#include "core/http_date.hpp"
#include "core/log.hpp"
#include "net/channel.hpp"
#include "net/listener.hpp"
#include "pipeline/proxy_headers.hpp"
#include "server/listen_sockets.hpp"
#include "server/status_endpoint.hpp"
#include "work/task.hpp"
#include "work/work_queue.hpp"

namespace waitron {

namespace {

// Forwards core log lines to the host's LogSink.
class SinkLogger final : public core::Logger {
 public:
  explicit SinkLogger(LogSink sink) : sink_(std::move(sink)) {}
  void write(core::LogLevel level, std::string_view name,
             std::string_view message) noexcept override {
    try {
      sink_(static_cast<LogLevel>(level), name, message);
    } catch (...) {
      // A failing sink loses the line; it must not take a connection down.
    }
  }

 private:
  LogSink sink_;
};

// The same address and non-zero port: two sockets could not both listen there.
bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    auto* x = reinterpret_cast<const sockaddr_in*>(&a);
    auto* y = reinterpret_cast<const sockaddr_in*>(&b);
    return x->sin_port != 0 && x->sin_port == y->sin_port &&
           x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a.ss_family == AF_INET6) {
    auto* x = reinterpret_cast<const sockaddr_in6*>(&a);
    auto* y = reinterpret_cast<const sockaddr_in6*>(&b);
    return x->sin6_port != 0 && x->sin6_port == y->sin6_port &&
           std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
  }
  return false;
}

}  // namespace

struct Server::Impl final : net::AcceptHandler, net::ChannelHost, http::DateSource {
  Impl(uv_loop_t* l, Adjustments a, std::shared_ptr<App> ap, LogSink sink)
      : loop(l), adj(std::move(a)), app(std::move(ap)) {
    if (!loop) throw std::invalid_argument("waitron::Server needs a uv_loop_t");
    if (!app) throw std::invalid_argument("waitron::Server needs an App");
    if (sink)
      logger = std::make_unique<SinkLogger>(std::move(sink));
    else
      logger = std::make_unique<core::StderrLogger>(core::LogLevel::info);
    for (const std::string& w : validate(adj)) logger->write(core::LogLevel::warning, "waitron", w);

    // waitress wraps the application in its proxy-header middleware whenever a proxy is
    // trusted or untrusted proxy headers are to be cleared: with the defaults, always.
    if (adj.trusted_proxy || adj.clear_untrusted_proxy_headers) {
      pipeline::ProxySettings proxy;
      proxy.trusted_proxy = adj.trusted_proxy;
      proxy.trusted_proxy_count = static_cast<std::uint64_t>(adj.effective_trusted_proxy_count());
      proxy.trusted_headers = pipeline::proxy_header_set(adj.trusted_proxy_headers);
      proxy.clear_untrusted = adj.clear_untrusted_proxy_headers;
      proxy.log_untrusted = adj.log_untrusted_proxy_headers;
      app = pipeline::wrap_proxy_headers(std::move(app), std::move(proxy), logger.get());
    }

    task.environ.server_name = adj.server_name;
    task.environ.url_prefix = adj.url_prefix;
    task.environ.url_scheme = adj.url_scheme;
    task.environ.ident = adj.ident;
    task.expose_tracebacks = adj.expose_tracebacks;
    task.logger = logger.get();

    read_buffer.resize(static_cast<std::size_t>(std::max<std::int64_t>(adj.recv_bytes, 1)));
    ctx.loop = loop;
    ctx.host = this;
    ctx.dates = this;
    ctx.connection.parser.max_head_bytes = static_cast<std::uint64_t>(adj.max_request_header_size);
    ctx.connection.parser.max_body_bytes = static_cast<std::uint64_t>(adj.max_request_body_size);
    ctx.connection.parser.inbuf_overflow = static_cast<std::uint64_t>(adj.inbuf_overflow);
    ctx.connection.parser.stream_bodies = adj.stream_request_body;
    ctx.connection.ident = adj.ident;
    ctx.connection.logger = logger.get();
    // Inline mode (threads=0) runs the app on the loop thread, which must never wait for
    // room in a pipe only it can drain: output beyond outbuf_overflow spills to a file.
    ctx.outbuf_high_watermark = adj.threads == 0
                                    ? std::numeric_limits<std::uint64_t>::max()
                                    : static_cast<std::uint64_t>(adj.outbuf_high_watermark);
    // ...and takes a pipe's events only once the app has returned: no locks (see
    // ResponsePipe for a WSGI app's helper threads).
    ctx.one_thread_pipes = adj.threads == 0;
    ctx.outbuf_overflow = static_cast<std::uint64_t>(adj.outbuf_overflow);
    ctx.read_buffer = std::span<char>(read_buffer);
  }

  ~Impl() override {
    // A started server must be closed (and its callback run) before it is destroyed: its
    // handles are still in the host's loop.
    if (started && !closed) std::abort();
  }

  // --- start ---------------------------------------------------------------------------
  void start() {
    if (started) throw std::logic_error("waitron::Server::start() called twice");
    // sendfile() has no MSG_NOSIGNAL: a peer that resets would kill the process. Only the
    // default disposition is replaced; a host that handles SIGPIPE keeps its handler.
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      std::signal(SIGPIPE, SIG_IGN);
    }
    std::vector<net::ListenSocket> sockets = server::open_listen_sockets(adj);
    std::vector<net::ListenSocket> status_sockets = open_status_sockets(sockets);
    if (adj.access_log) {
      auto format = adj.access_log_format == "json" ? core::AccessLogFormat::json
                                                    : core::AccessLogFormat::combined;
      access_log = std::make_unique<core::AccessLog>(
          *adj.access_log, format, core::AccessLog::kDefaultMaxQueued, logger.get());
      ctx.access_log = access_log.get();
      ctx.connection.record_responses = true;
    }

    work = std::make_unique<work::WorkQueue>(
        loop, static_cast<unsigned>(adj.threads), [this](std::shared_ptr<work::ResponsePipe> pipe) {
          if (auto* ch = static_cast<net::Channel*>(pipe->owner)) {
            ch->on_pipe_ready(*pipe);
          } else if (closing) {
            maybe_finish_close();  // a task of a closed connection ended
          }
        });
    if (int rc = work->start(); rc != 0)
      throw std::system_error(-rc, std::generic_category(), "uv_async_init");
    ctx.notifier = work.get();
    uv_timer_init(loop, &timer);
    timer.data = this;
    uv_timer_start(&timer, &Impl::on_timer, 1000, 1000);
    next_cleanup = uv_now(loop) + static_cast<std::uint64_t>(adj.cleanup_interval) * 1000;
    started = true;
    for (auto& sock : sockets) {
      auto listener = std::make_unique<net::Listener>(loop, std::move(sock), *this);
      if (int rc = listener->start(); rc != 0) {
        close(nullptr);
        throw std::system_error(-rc, std::generic_category(), "uv_poll_init");
      }
      listeners.push_back(std::move(listener));
    }
    if (!status_sockets.empty()) {
      status = std::make_unique<server::StatusEndpoint>(
          server::StatusEndpoint::Settings{loop, work.get(), this, ctx.read_buffer, adj.ident,
                                           ctx.connection.parser.temp_dir},
          [this] { return stats(); });
      if (int rc = status->start(std::move(status_sockets)); rc != 0) {
        close(nullptr);
        throw std::system_error(-rc, std::generic_category(), "uv_poll_init");
      }
      for (const ListenAddress& a : status->addresses()) {
        log(core::LogLevel::info, "Serving status on " + a.url() + "/metrics");
      }
    }
  }

  // status_listen: bound now, so that start() fails before serving when it cannot be, and
  // refused when it names one of the application's own addresses.
  std::vector<net::ListenSocket> open_status_sockets(
      const std::vector<net::ListenSocket>& app_sockets) {
    std::vector<net::ListenSocket> out;
    if (!adj.status_listen) return out;
    Adjustments status_adj = adj;  // the ipv4/ipv6 filter applies
    status_adj.listen = {config::parse_listen_entry(*adj.status_listen, adj.port)};
    std::vector<config::ResolvedAddress> resolved;
    try {
      resolved = config::resolve_listen(status_adj);
    } catch (const std::exception& e) {
      throw std::invalid_argument("status_listen " + *adj.status_listen + ": " + e.what());
    }
    for (const config::ResolvedAddress& r : resolved) {
      for (const net::ListenSocket& s : app_sockets) {
        sockaddr_storage bound{};
        socklen_t length = sizeof bound;
        if (::getsockname(s.fd.get(), reinterpret_cast<sockaddr*>(&bound), &length) == 0 &&
            same_address(bound, r.address)) {
          throw std::invalid_argument("status_listen " + *adj.status_listen +
                                      " is one of the application's listen addresses");
        }
      }
      net::ListenSpec spec;
      spec.address = r.address;
      spec.address_length = r.length;
      net::ListenSocket sock;
      if (auto ec = net::open_listen_socket(spec, static_cast<int>(adj.backlog), sock)) {
        throw std::system_error(ec, "cannot listen on status_listen " + server::describe(spec));
      }
      out.push_back(std::move(sock));
    }
    return out;
  }

  ServerStats stats() const {
    ServerStats s;
    s.connections_open = open_count.load();
    s.connections_accepted = accepted_count.load();
    s.requests_in_flight = ctx.requests_in_flight.load();
    s.requests_served = ctx.requests_served.load();
    if (work) {
      s.queue_depth = work->queue_depth();
      s.busy_threads = work->busy_threads();
    }
    s.bytes_received = ctx.bytes_received.load();
    s.bytes_sent = ctx.bytes_sent.load();
    if (access_log) {
      s.access_log_lines = access_log->lines_written();
      s.access_log_dropped = access_log->dropped();
    }
    return s;
  }

  // --- accepting -----------------------------------------------------------------------
  bool may_accept() override {
    return !closing && channels.size() < static_cast<std::size_t>(adj.connection_limit);
  }

  void accepted(net::Listener&, core::UniqueFd fd, work::Peer peer) override {
    auto channel = std::make_unique<net::Channel>(ctx, std::move(fd), std::move(peer));
    net::Channel* raw = channel.get();
    channels.emplace(raw, std::move(channel));
    ++accepted_count;
    if (raw->start() != 0) {
      channels.erase(raw);
      return;
    }
    ++open_count;
    if (channels.size() >= static_cast<std::size_t>(adj.connection_limit) && !at_limit) {
      at_limit = true;
      for (auto& l : listeners) l->pause();
      log(core::LogLevel::warning,
          "total open connections reached the connection limit, no longer accepting new "
          "connections");
    }
  }

  void accept_failed(net::Listener& from, int error) override {
    if (adj.log_socket_errors) {
      log(core::LogLevel::warning,
          std::string("server accept() threw an exception: ") + std::strerror(error));
    }
    // Retried by the next timer tick or the next closed connection, never in a tight loop.
    from.pause();
    accept_paused = true;
  }

  void resume_accepting() {
    if (closing) return;
    if (at_limit && channels.size() < static_cast<std::size_t>(adj.connection_limit)) {
      at_limit = false;
      log(core::LogLevel::info,
          "total open connections dropped below the connection limit, listening again");
    }
    if (!at_limit) {
      for (auto& l : listeners) l->resume();
      accept_paused = false;
    }
  }

  // --- channels ------------------------------------------------------------------------
  void submit(net::Channel& channel, std::shared_ptr<http::IncomingRequest> request,
              std::shared_ptr<work::ResponsePipe> pipe) override {
    work->submit([this, request = std::move(request), pipe = std::move(pipe),
                  peer = channel.peer()]() mutable {
      work::run_task(*app, std::move(request), std::move(pipe), task, std::move(peer));
    });
  }

  void channel_closed(net::Channel& channel) noexcept override {
    channels.erase(&channel);
    --open_count;
    if (closing) {
      maybe_finish_close();
    } else if (at_limit || accept_paused) {
      resume_accepting();
    }
  }

  // --- maintenance ---------------------------------------------------------------------
  static void on_timer(uv_timer_t* handle) noexcept {
    static_cast<Impl*>(handle->data)->maintenance();
  }

  void maintenance() noexcept {
    std::uint64_t now = uv_now(loop);
    if (closing) {
      // Past the grace period, requests still in flight are cut: their application threads
      // are released (writes throw ClientDisconnected), as waitress cancels its tasks.
      if (now >= close_deadline) {
        std::vector<net::Channel*> all;
        for (auto& [raw, owned] : channels) all.push_back(raw);
        if (!all.empty()) {
          log(core::LogLevel::warning,
              "closing " + std::to_string(all.size()) +
                  " connection(s) still busy after the shutdown grace period");
        }
        for (net::Channel* ch : all) ch->close_now();
      }
    }
    bool sweep = now >= next_cleanup;
    if (sweep) next_cleanup = now + static_cast<std::uint64_t>(adj.cleanup_interval) * 1000;
    std::uint64_t timeout = static_cast<std::uint64_t>(adj.channel_timeout) * 1000;
    std::vector<net::Channel*> expired;
    std::size_t slow_heads = 0;
    for (auto& [raw, owned] : channels) {
      const net::Channel::Expiry why = raw->expiry(now, sweep, timeout);
      if (why == net::Channel::Expiry::none) continue;
      expired.push_back(raw);
      if (why == net::Channel::Expiry::slow_head) ++slow_heads;
    }
    if (slow_heads > 0) {
      log(core::LogLevel::info, "closed " + std::to_string(slow_heads) +
                                    " connection(s) whose request head took longer than "
                                    "channel_timeout");
    }
    for (net::Channel* ch : expired) ch->close_now();
    if (status && sweep) status->sweep(now, timeout);
    if (accept_paused) resume_accepting();
    if (closing) maybe_finish_close();
  }

  // --- closing -------------------------------------------------------------------------
  void close(std::function<void()> cb) {
    if (closing) return;
    closing = true;
    // shutdown_timeout: how long requests in flight may finish before they are cut.
    close_deadline = uv_now(loop) + static_cast<std::uint64_t>(adj.shutdown_timeout) * 1000;
    on_closed = std::move(cb);
    if (!started) {
      closed = true;
      if (on_closed) std::exchange(on_closed, nullptr)();
      return;
    }
    for (auto& l : listeners) {
      ++handles_closing;
      l->close([this] { handle_closed(); });
    }
    std::vector<net::Channel*> all;
    for (auto& [raw, owned] : channels) all.push_back(raw);
    for (net::Channel* ch : all) ch->close_when_done();
    if (status) {
      status->close([this] {
        status_closed = true;
        maybe_finish_close();
      });
    }
    maybe_finish_close();
  }

  void maybe_finish_close() {
    if (!closing || !channels.empty() || finishing) return;
    if (status && !status_closed) return;  // its channels hand responses back through `work`
    // Every channel is gone, so no request can be dispatched any more; a task whose client
    // vanished may still run (its writes fail at once). The loop never blocks joining it:
    // this is checked again every second until no job is left, so the threads are idle
    // when they are joined.
    if (work->busy_threads() + work->queue_depth() > 0) return;
    finishing = true;
    work->stop();
    ++handles_closing;
    work->close([this] { handle_closed(); });
    ++handles_closing;
    uv_close(reinterpret_cast<uv_handle_t*>(&timer),
             [](uv_handle_t* h) { static_cast<Impl*>(h->data)->handle_closed(); });
  }

  void handle_closed() {
    if (--handles_closing > 0 || !finishing) return;
    listeners.clear();
    // Every connection is gone: the lines still queued are written before on_closed.
    if (access_log) access_log->stop();
    closed = true;
    if (on_closed) std::exchange(on_closed, nullptr)();
  }

  // --- misc ----------------------------------------------------------------------------
  std::string_view http_date() override { return dates.get(std::time(nullptr)); }

  void log(core::LogLevel level, const std::string& message) {
    logger->write(level, "waitron", message);
  }

  uv_loop_t* loop;
  Adjustments adj;
  std::unique_ptr<core::Logger> logger;  // borrowed by the proxy-header wrapper in `app`
  std::shared_ptr<App> app;
  std::unique_ptr<core::AccessLog> access_log;  // before ctx: its channels submit to it
  work::TaskSettings task;
  std::vector<char> read_buffer;
  net::ChannelContext ctx;
  core::HttpDateCache dates;
  std::unique_ptr<work::WorkQueue> work;
  std::vector<std::unique_ptr<net::Listener>> listeners;
  std::unordered_map<net::Channel*, std::unique_ptr<net::Channel>> channels;
  std::unique_ptr<server::StatusEndpoint> status;
  uv_timer_t timer{};
  std::uint64_t next_cleanup = 0;
  std::uint64_t close_deadline = 0;
  std::atomic<std::uint64_t> accepted_count{0};
  std::atomic<std::uint64_t> open_count{0};
  bool status_closed = false;
  bool at_limit = false;
  bool accept_paused = false;
  bool started = false;
  bool closing = false;
  bool finishing = false;
  bool closed = false;
  int handles_closing = 0;
  std::function<void()> on_closed;
};

Server::Server(uv_loop_t* loop, Adjustments adjustments, std::shared_ptr<App> app, LogSink log)
    : impl_(std::make_unique<Impl>(loop, std::move(adjustments), std::move(app), std::move(log))) {}

Server::~Server() = default;

void Server::start() {
  impl_->start();
}

void Server::close(std::function<void()> on_closed) {
  impl_->close(std::move(on_closed));
}

std::vector<ListenAddress> Server::addresses() const {
  std::vector<ListenAddress> out;
  for (auto& l : impl_->listeners) {
    out.push_back(ListenAddress{l->socket().host, l->socket().port, l->socket().fd.get()});
  }
  return out;
}

std::vector<ListenAddress> Server::status_addresses() const {
  return impl_->status ? impl_->status->addresses() : std::vector<ListenAddress>{};
}

ServerStats Server::stats() const {
  return impl_->stats();
}

void Server::reopen_access_log() {
  if (impl_->access_log) impl_->access_log->reopen();
}

}  // namespace waitron
