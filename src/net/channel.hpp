// One accepted connection: the libuv side of an http::Connection (waitress channel.py).
//
// The channel watches its non-blocking socket with a uv_poll_t and does its own reads,
// sendmsg() and sendfile() (libuv's uv_tcp_t cannot wait for writability without a
// uv_write, which sendfile needs). It:
// - reads while the Connection wants bytes (at most recv_bytes per read, a few reads per
//   wake-up, so one client cannot starve the others) and feeds them in;
// - hands a complete request to the ChannelHost with a fresh ResponsePipe, one at a time;
// - applies the pipe's response events to the Connection and writes the output, at once
//   when the socket takes it (the fast path) or when it becomes writable;
// - while a request runs, watches for the peer closing (UV_DISCONNECT) so the application
//   can see client_disconnected(); a write error disconnects the pipe, which frees a waiting
//   application thread;
// - closes once the Connection is closing and its output is written: the write side is shut
//   down and the channel keeps reading (and discarding) until the peer closes or the linger
//   time passes, so a client still sending a refused body gets the response, not a reset;
// - with an access log, submits one line per response once its last byte has been handed to
//   the socket (or when the connection closes first). The duration runs from the first
//   read of the request's bytes (for a request that was already buffered behind the
//   previous one, from the end of that response) to that moment.
//
// Ownership: the ChannelHost (the server, or its status endpoint) owns every Channel and frees it
// in channel_closed(), which the channel calls from its handle's close callback. The channel owns
// its socket. Threads: the loop thread only.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/access_log.hpp"
#include "core/unique_fd.hpp"
#include "http/connection.hpp"
#include "net/write_queue.hpp"
#include "work/cgi_environ.hpp"
#include "work/response_pipe.hpp"

namespace waitron::net {

class Channel;

class ChannelHost {
 public:
  virtual ~ChannelHost() = default;
  // Runs a request on an application thread; events come back through the pipe.
  virtual void submit(Channel& channel, std::shared_ptr<http::IncomingRequest> request,
                      std::shared_ptr<work::ResponsePipe> pipe) = 0;
  // The channel's handle is closed: free it. Called from a libuv callback; must not throw.
  virtual void channel_closed(Channel& channel) noexcept = 0;

 protected:
  ChannelHost() = default;
  ChannelHost(const ChannelHost&) = default;
  ChannelHost& operator=(const ChannelHost&) = default;
};

// What a channel holds only while it exchanges requests and responses: the protocol state
// machine, the output waiting for the socket, and the access log's lines waiting for their
// last byte to be sent. An idle keep-alive channel (nothing received, queued or running)
// gives it back to its context's spares and takes one again when its next bytes arrive, so
// ten thousand idle connections cost a few hundred bytes each, not a parser and buffers
// each (nginx frees its request state at keep-alive the same way). A spare is at rest
// (Connection::at_rest()), so it is as good as a new one for any channel of the context;
// what belongs to a socket (its unsent limit, see WriteQueue) stays with the channel.
struct Exchange {
  Exchange(const http::ConnectionSettings& settings, http::DateSource& dates,
           std::uint64_t outbuf_overflow)
      : conn(settings, dates), out(outbuf_overflow, settings.parser.temp_dir) {
    out.keep_spares(http::Connection::kMaxSpare);
  }

  struct LoggedResponse {
    http::ResponseRecord response;
    std::uint64_t start_us = 0;
  };

  http::Connection conn;
  WriteQueue out;
  std::vector<LoggedResponse> logged;  // recorded, waiting for their last byte to be sent
  std::uint64_t written = 0;           // output bytes handed to the socket so far
  // The pipe of the last request, kept for the next one when nothing else holds it.
  std::shared_ptr<work::ResponsePipe> spare_pipe;
};

// What every channel of a server shares (loop thread only).
struct ChannelContext {
  uv_loop_t* loop = nullptr;
  ChannelHost* host = nullptr;
  work::PipeNotifier* notifier = nullptr;
  http::DateSource* dates = nullptr;
  http::ConnectionSettings connection;
  std::uint64_t outbuf_high_watermark = 16777216;
  bool one_thread_pipes = false;            // inline mode: a pipe is used by one thread at a time
  std::uint64_t outbuf_overflow = 1048576;  // queued output past this spills to a temp file
  std::span<char> read_buffer;              // shared scratch space for reads
  std::uint64_t linger_ms = 2000;           // how long a closing channel drains its peer
  core::AccessLog* access_log = nullptr;    // not owned; null: no access log
  // Counters the server reports: written on the loop thread, read from any thread.
  std::atomic<std::uint64_t> bytes_received{0};
  std::atomic<std::uint64_t> bytes_sent{0};
  std::atomic<std::uint64_t> requests_served{0};
  std::atomic<std::uint64_t> requests_in_flight{0};
  // Loop thread only (tests count them): uv_poll_start/stop calls that changed a mask (an
  // epoll_ctl each), and poll callbacks of channels (a channel spinning on an event it
  // ignores shows here).
  std::uint64_t poll_changes = 0;
  std::uint64_t poll_wakeups = 0;
  // Loop thread only: bytes read straight into request bodies (see Channel::read_some).
  std::uint64_t bytes_read_in_place = 0;
  // Exchanges given back by idle channels, for the next channel that receives bytes (at
  // most kSpareExchanges; a keep-alive request then allocates no exchange).
  static constexpr std::size_t kSpareExchanges = 64;
  static constexpr std::size_t kMaxSpareBytes = 32 * 1024;  // buffer capacity a spare may keep
  std::vector<std::unique_ptr<Exchange>> spare_exchanges;
  std::uint64_t exchanges_created = 0;  // loop thread only (tests count them)
  std::uint64_t pipes_created = 0;      // loop thread only (tests count them)
};

class Channel {
 public:
  Channel(ChannelContext& context, core::UniqueFd fd, work::Peer peer);
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel();

  // Starts watching the socket. Returns a libuv error or 0 (then the caller frees it).
  int start();

  // The pipe has events for this channel (called by the server from the uv_async).
  void on_pipe_ready(work::ResponsePipe& pipe) noexcept;

  // Closes now, without waiting for output (a timeout, a write error, a forced shutdown).
  void close_now() noexcept;
  // Ends the connection after the request in flight, if any (graceful server close). A
  // connection that has not sent a byte yet is given its first request, then closed.
  void close_when_done() noexcept;

  [[nodiscard]] const work::Peer& peer() const noexcept { return peer_; }
  [[nodiscard]] bool closed() const noexcept { return closed_; }

  // Why a channel should be closed at loop time `now`, by the one rule every host of
  // channels applies: a lingering close past its deadline; or, at a sweep with
  // `timeout_ms` (channel_timeout), waitress's idle rule (no request running and nothing
  // received or sent for the timeout) and waitron's head deadline (a request head still
  // incomplete the timeout after its first byte: slowloris).
  enum class Expiry { none, linger_over, idle, slow_head };
  [[nodiscard]] Expiry expiry(std::uint64_t now, bool sweep, std::uint64_t timeout_ms) const;

 private:
  static void on_poll(uv_poll_t* handle, int status, int events) noexcept;
  void handle_events(int status, int events);
  void read_some();
  void linger_read();
  void dispatch();
  void apply(work::ResponseEvent& event);
  void flush();
  void update_poll(bool exact = false);
  void begin_close();
  void finish_request();
  void release_pipe() noexcept;
  void log_responses(bool closing);
  Exchange& exchange();          // the channel's exchange, taken from the spares or made
  void rest_if_idle() noexcept;  // gives the exchange back when nothing is in progress
  // The connection wants bytes: always while idle (no exchange), for the next request.
  [[nodiscard]] bool wants_read() const noexcept { return !ex_ || ex_->conn.wants_read(); }

  ChannelContext& ctx_;
  core::UniqueFd fd_;
  work::Peer peer_;
  std::unique_ptr<Exchange> ex_;  // null while idle; never null while pipe_ is set
  std::shared_ptr<work::ResponsePipe> pipe_;
  uv_poll_t poll_{};
  int poll_events_ = -1;  // the events uv_poll is started with; -1 = not started
  bool peer_eof_ = false;
  bool lingering_ = false;
  bool linger_on_close_ = true;  // drain the peer before closing (not when shutting down)
  bool closed_ = false;
  bool received_any_ = false;         // a byte of a request has arrived
  bool close_after_request_ = false;  // the server closes: serve the first request, then close
  UnsentLimit unsent_limit_;          // the socket's, whichever exchange writes to it
  std::uint64_t linger_deadline_ = 0;
  std::uint64_t last_activity_ = 0;
  std::uint64_t head_started_ = 0;       // when the head being read began (see expiry())
  std::uint64_t exchange_start_us_ = 0;  // when the request being read began (access log)
};

}  // namespace waitron::net
