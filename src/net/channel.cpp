#include "net/channel.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <utility>

namespace waitron::net {

namespace {

// Reads per wake-up: bounded, like libuv's own uv__read, so one busy client cannot starve
// the loop.
constexpr int kReadsPerWakeup = 4;

// The largest read straight into a request body (the parser bounds it further by what the
// body lacks and by what arrived so far): with kReadsPerWakeup, at most 1 MiB per wake-up.
constexpr std::size_t kMaxBodyRead = 256 * 1024;

std::uint64_t now_us() {
  return uv_hrtime() / 1000;
}

}  // namespace

Channel::Channel(ChannelContext& context, core::UniqueFd fd, work::Peer peer)
    : ctx_(context), fd_(std::move(fd)), peer_(std::move(peer)) {
  poll_.data = this;
}

Channel::~Channel() {
  release_pipe();
}

Exchange& Channel::exchange() {
  if (!ex_) {
    if (!ctx_.spare_exchanges.empty()) {
      ex_ = std::move(ctx_.spare_exchanges.back());
      ctx_.spare_exchanges.pop_back();
    } else {
      ex_ = std::make_unique<Exchange>(ctx_.connection, *ctx_.dates, ctx_.outbuf_overflow);
      ++ctx_.exchanges_created;
    }
  }
  return *ex_;
}

void Channel::rest_if_idle() noexcept {
  if (!ex_ || pipe_ || closed_ || !ex_->out.empty() || !ex_->logged.empty() ||
      !ex_->conn.at_rest()) {
    return;
  }
  // A spare that grew large buffers (a large head, say) is freed instead: 64 spares could
  // otherwise pin tens of MiB.
  if (ctx_.spare_exchanges.size() < ChannelContext::kSpareExchanges &&
      ex_->conn.retained_bytes() <= ChannelContext::kMaxSpareBytes) {
    try {
      ctx_.spare_exchanges.push_back(std::move(ex_));
      return;
    } catch (...) {
      // No room for the spare: it is freed below.
    }
  }
  ex_.reset();
}

int Channel::start() {
  if (int rc = uv_poll_init(ctx_.loop, &poll_, fd_.get()); rc != 0) return rc;
  poll_.data = this;
  last_activity_ = uv_now(ctx_.loop);
  poll_events_ = 0;
  update_poll();
  return 0;
}

Channel::Expiry Channel::expiry(std::uint64_t now, bool sweep, std::uint64_t timeout_ms) const {
  if (lingering_) return now >= linger_deadline_ ? Expiry::linger_over : Expiry::none;
  if (!sweep) return Expiry::none;
  if (!pipe_ && now - last_activity_ >= timeout_ms) return Expiry::idle;
  if (head_started_ != 0 && ex_ && ex_->conn.reading_head() && now - head_started_ >= timeout_ms) {
    return Expiry::slow_head;
  }
  return Expiry::none;
}

void Channel::update_poll(bool exact) {
  if (closed_) return;
  int events = 0;
  if (wants_read() || lingering_) events |= UV_READABLE;
  // While the application runs, a peer that closes is noticed without reading its bytes.
  if (pipe_ && !peer_eof_) events |= UV_DISCONNECT;
  if (ex_ && !ex_->out.empty()) events |= UV_WRITABLE;
  if (!exact && events != 0 && poll_events_ > 0 && !peer_eof_) {
    // Readable and hang-up interest no longer wanted stays in the mask until it fires
    // (handle_events then asks for the exact mask): a keep-alive connection keeps one mask
    // through request, response and the next request, with no epoll_ctl in between.
    events |= poll_events_ & (UV_READABLE | UV_DISCONNECT);
  }
  if (events == poll_events_) return;
  ++ctx_.poll_changes;
  if (events == 0) {
    uv_poll_stop(&poll_);
  } else if (uv_poll_start(&poll_, events, &Channel::on_poll) != 0) {
    close_now();
    return;
  }
  poll_events_ = events;
}

void Channel::on_poll(uv_poll_t* handle, int status, int events) noexcept {
  auto* self = static_cast<Channel*>(handle->data);
  ++self->ctx_.poll_wakeups;
  try {
    self->handle_events(status, events);
  } catch (...) {
    self->close_now();
  }
}

void Channel::handle_events(int status, int events) {
  if (closed_) return;
  if (status < 0) {
    close_now();
    return;
  }
  if (lingering_) {
    linger_read();
    return;
  }
  if ((events & UV_WRITABLE) != 0) flush();
  if (closed_) return;
  // An event of an interest kept lazily in the mask (see update_poll) was not wanted.
  bool unwanted = false;
  if ((events & UV_READABLE) != 0 && wants_read()) {
    read_some();
  } else if ((events & UV_DISCONNECT) != 0 && pipe_) {
    // The peer closed (or reset) while its request runs; the response is still attempted.
    // Its end of stream stays readable: both interests must leave the mask now, or a
    // level-triggered poll wakes the loop again and again while the response waits.
    peer_eof_ = true;
    pipe_->mark_peer_closed();
    unwanted = true;
  } else {
    unwanted = (events & (UV_READABLE | UV_DISCONNECT)) != 0;
  }
  if (closed_) return;
  dispatch();
  flush();
  if (unwanted) update_poll(true);
}

void Channel::read_some() {
  for (int i = 0; i < kReadsPerWakeup && wants_read(); ++i) {
    // The rest of a request body kept in memory is read straight into it, in reads as
    // large as the body's room (recv_bytes is the size of the other reads): one copy and
    // a few system calls per body instead of two copies and one call per recv_bytes.
    std::span<char> into = ex_ ? ex_->conn.receive_room(kMaxBodyRead) : std::span<char>();
    const bool in_place = !into.empty();
    if (!in_place) into = ctx_.read_buffer;
    ssize_t n = ::read(fd_.get(), into.data(), into.size());
    if (n > 0) {
      received_any_ = true;
      ctx_.bytes_received += static_cast<std::uint64_t>(n);
      if (ctx_.access_log && exchange_start_us_ == 0) exchange_start_us_ = now_us();
      last_activity_ = uv_now(ctx_.loop);
      http::Connection& conn = exchange().conn;
      if (in_place) {
        ctx_.bytes_read_in_place += static_cast<std::uint64_t>(n);
        conn.received_in_place(static_cast<std::size_t>(n));
      } else {
        conn.receive(std::string_view(into.data(), static_cast<std::size_t>(n)));
      }
      if (!conn.reading_head()) {
        head_started_ = 0;
      } else if (head_started_ == 0) {
        head_started_ = last_activity_;
      }
      if (static_cast<std::size_t>(n) < into.size()) break;
    } else if (n == 0) {
      peer_eof_ = true;
      if (!ex_) {
        close_now();  // idle: nothing to answer
        return;
      }
      ex_->conn.receive_eof();
      break;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN) {
      break;
    } else {
      close_now();
      return;
    }
  }
}

void Channel::dispatch() {
  if (pipe_ || !ex_ || !ex_->conn.has_request() || closed_) return;
  auto request = ex_->conn.take_request();
  if (work::ResponsePipe::reusable(ex_->spare_pipe)) {
    pipe_ = std::move(ex_->spare_pipe);
    pipe_->reset();
  } else {
    pipe_ = std::make_shared<work::ResponsePipe>(*ctx_.notifier, ctx_.outbuf_high_watermark,
                                                 ctx_.one_thread_pipes);
    ++ctx_.pipes_created;
  }
  pipe_->owner = this;
  ++ctx_.requests_in_flight;
  if (peer_eof_) pipe_->mark_peer_closed();
  ctx_.host->submit(*this, std::move(request), pipe_);
  if (close_after_request_) ex_->conn.close_after_response();
}

void Channel::on_pipe_ready(work::ResponsePipe& pipe) noexcept {
  if (closed_ || &pipe != pipe_.get()) return;
  try {
    for (auto& event : pipe.take()) {
      if (!pipe_) break;  // finished or failed by an earlier event
      apply(event);
    }
    pipe.release_taken();
    dispatch();
    flush();
  } catch (...) {
    close_now();
  }
}

void Channel::apply(work::ResponseEvent& event) {
  using Kind = work::ResponseEvent::Kind;
  http::Connection& conn = ex_->conn;  // a request runs, so the exchange is there
  switch (event.kind) {
    case Kind::start:
      if (conn.start_response(event.head)) {
        // The head passed WSGI's checks but not framing's (say, Content-Length "abc").
        conn.fail_response(500, "The server encountered an unexpected internal server error");
        finish_request();
      } else if (!event.bytes.empty()) {
        conn.write_body(std::move(event.bytes));
      }
      break;
    case Kind::bytes:
      conn.write_body(std::move(event.bytes));
      break;
    case Kind::shared:
      conn.write_shared(std::move(event.shared));
      break;
    case Kind::file:
      conn.write_file(std::move(event.file));
      break;
    case Kind::finish:
      conn.finish_response();
      finish_request();
      break;
    case Kind::abort:
      conn.abort_response();
      finish_request();
      break;
    case Kind::fail:
      conn.fail_response(event.status, event.bytes);
      finish_request();
      break;
  }
}

void Channel::finish_request() {
  if (!pipe_) return;
  // The task may still run (after a failed head or an abort): disconnecting makes its
  // later writes fail fast instead of waiting for room nobody will make.
  release_pipe();
  ++ctx_.requests_served;
  last_activity_ = uv_now(ctx_.loop);
}

void Channel::release_pipe() noexcept {
  if (!pipe_) return;
  pipe_->owner = nullptr;
  pipe_->disconnect();
  if (ex_ && !ex_->spare_pipe) {
    ex_->spare_pipe = std::move(pipe_);  // reused by the next request if the task let go
  } else {
    pipe_.reset();
  }
  --ctx_.requests_in_flight;
}

void Channel::log_responses(bool closing) {
  if (!ex_) return;
  http::Connection& conn = ex_->conn;
  std::vector<Exchange::LoggedResponse>& logged = ex_->logged;
  if (logged.empty() && !conn.has_records()) return;
  std::uint64_t now = now_us();
  for (http::ResponseRecord& r : conn.take_records()) {
    logged.push_back({std::move(r), exchange_start_us_ ? exchange_start_us_ : now});
    // The next request began already if its bytes wait (pipelining) or it runs.
    exchange_start_us_ = conn.buffered_input() > 0 || conn.has_request() || pipe_ ? now : 0;
  }
  std::size_t done = 0;
  for (; done < logged.size(); ++done) {
    Exchange::LoggedResponse& sent = logged[done];
    if (!closing && sent.response.output_end > ex_->written) break;
    core::AccessRecord& line = sent.response.record;
    line.time = std::chrono::system_clock::now();
    line.remote_addr = peer_.remote_addr;
    line.duration_us = now - sent.start_us;
    ctx_.access_log->submit(std::move(line));
  }
  logged.erase(logged.begin(), logged.begin() + static_cast<std::ptrdiff_t>(done));
}

void Channel::flush() {
  if (closed_) return;
  if (!ex_) {
    update_poll();
    return;
  }
  Exchange& ex = *ex_;
  ex.conn.drain_output([&](http::OutputChunk&& chunk) { ex.out.push(std::move(chunk)); });
  if (!ex.out.empty()) {
    WriteQueue::Result r = ex.out.flush(fd_.get(), unsent_limit_);
    ctx_.bytes_sent += r.bytes;
    ex.written += r.bytes;
    if (r.bytes > 0) last_activity_ = uv_now(ctx_.loop);
    if (pipe_ && r.memory_bytes > 0) pipe_->sent(r.memory_bytes);
    ex.conn.recycle(ex.out.take_spare());
    if (r.error != 0) {
      close_now();  // the client is gone: EPIPE, ECONNRESET...
      return;
    }
  }
  if (ctx_.access_log) log_responses(false);
  if (ex.out.empty() && ex.conn.closing() && !pipe_) {
    begin_close();
    return;
  }
  rest_if_idle();
  update_poll();
}

void Channel::begin_close() {
  if (peer_eof_ || !linger_on_close_) {
    close_now();
    return;
  }
  // RFC 9112 §9.6: close the write side first and drain what the client still sends, so
  // that it reads our response instead of a reset.
  ::shutdown(fd_.get(), SHUT_WR);
  lingering_ = true;
  linger_deadline_ = uv_now(ctx_.loop) + ctx_.linger_ms;
  update_poll();
}

void Channel::linger_read() {
  for (int i = 0; i < kReadsPerWakeup; ++i) {
    ssize_t n = ::read(fd_.get(), ctx_.read_buffer.data(), ctx_.read_buffer.size());
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    break;  // EOF or an error
  }
  close_now();
}

void Channel::close_when_done() noexcept {
  if (closed_) return;
  // The server is shutting down: no lingering drain, the client has its response.
  linger_on_close_ = false;
  if (!received_any_ && !pipe_) {
    // Accepted moments ago, its first request not here yet: the client did nothing wrong
    // (with worker processes, it connected to a socket that other workers keep serving),
    // so its request is served, then the connection closes. The server's shutdown
    // deadline closes it if nothing comes.
    close_after_request_ = true;
    return;
  }
  if (!ex_) {
    begin_close();  // idle between requests: nothing to finish
    return;
  }
  ex_->conn.close_after_response();
  try {
    flush();
  } catch (...) {
    close_now();
  }
}

void Channel::close_now() noexcept {
  if (closed_) return;
  closed_ = true;
  release_pipe();
  if (ctx_.access_log && ex_) {
    try {
      ex_->conn.abandon();  // a response cut short is logged as it stands
      log_responses(true);
    } catch (...) {
      // Out of memory: the lines are lost, the connection still closes.
    }
  }
  if (poll_events_ < 0) {  // never started: no handle to close
    ctx_.host->channel_closed(*this);
    return;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), [](uv_handle_t* h) {
    auto* self = static_cast<Channel*>(h->data);
    self->fd_.reset();
    self->ctx_.host->channel_closed(*self);
  });
}

}  // namespace waitron::net
