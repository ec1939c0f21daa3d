// One HTTP/1.1 connection as a state machine free of I/O: bytes in, requests
// out; response events in, bytes out (the protocol decisions of waitress's
// channel.py and task.py, without sockets or threads).
//
//   receive(bytes)  ->  has_request() / take_request()
//   start_response(), write_body(), write_file(), finish_response()
//                   ->  drain_output(): bytes and file regions to send
//   closing()       ->  close once the output is sent
//
// Rules it enforces:
// - Requests are handed out one at a time, in order (pipelining, RFC 9112
//   §9.3.2): the next one is parsed only after the response to the previous
//   one finished.
// - After an error response, or a response that does not persist, no later
//   byte is parsed (waitress's CVE-2024-49768 fix); bytes still arriving are
//   dropped.
// - "HTTP/1.1 100 Continue" is written as soon as a head with
//   Expect: 100-continue and a body is accepted (RFC 9110 §10.1.1), never
//   for a request already refused.
// - Responses are framed by frame_response(); a body longer than its
//   Content-Length is cut (one warning), a shorter one closes the
//   connection (one warning), as waitress does.
// - At the peer's EOF, complete requests already received are still served,
//   then the connection closes; an incomplete one is dropped silently.
// - Bytes received while a request is served are kept for the next request, up to one
//   head plus 64 KiB; a client that sends more ends its connection after the response.
// - With record_responses (the access log), every response it produces, error responses
//   included, leaves a ResponseRecord: the request line, status, body bytes and a few
//   request fields, and the output offset just past the response's last byte, so the
//   network layer can tell when the response has been sent.
// - With stream_bodies, a request with a body is handed out at its head and its body keeps
//   being parsed into the request's stream while the application runs (wants_read() stays
//   true); a response that ends before the body, a malformed body and the peer's EOF fail
//   the stream and close the connection after the response.
//
// Threads: one Connection belongs to the loop thread; every member function
// must be called there. The request handed out moves to the application.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "core/access_log_line.hpp"
#include "core/file_region.hpp"
#include "core/log.hpp"
#include "http/chunked_encoder.hpp"
#include "http/error_response.hpp"
#include "http/output.hpp"
#include "http/parser.hpp"
#include "http/response_head.hpp"

namespace waitron::http {

struct ConnectionSettings {
  ParserLimits parser;
  std::optional<std::string> ident = "waitron";  // Server field; nullopt: none
  core::Logger* logger = nullptr;                // not owned; may be null
  bool record_responses = false;                 // keep a ResponseRecord per response
};

// One response for the access log. The record's time, peer and duration are left to the
// network layer, which sees the socket.
struct ResponseRecord {
  core::AccessRecord record;
  std::uint64_t output_end = 0;  // output offset (bytes drained so far) past its last byte
};

class Connection {
 public:
  Connection(ConnectionSettings settings, DateSource& dates);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Input: the bytes one read produced, and the peer's end of stream.
  void receive(std::string_view bytes);
  void receive_eof();
  // Input read in place: while a Content-Length body is read with nothing buffered before
  // it, receive_room() lends room in the request's body for at most `max` of the bytes it
  // still lacks; the caller reads into it and calls received_in_place(n), which is
  // receive() of those n bytes without copying them. Empty room otherwise (read elsewhere
  // and call receive()). The room is valid until the next call on the connection.
  [[nodiscard]] std::span<char> receive_room(std::size_t max);
  void received_in_place(std::size_t n);

  // A complete request waits to be taken. At most one at a time.
  [[nodiscard]] bool has_request() const noexcept { return state_ == State::request_ready; }
  [[nodiscard]] std::shared_ptr<IncomingRequest> take_request();

  // The response to the request taken last. start_response() and fail_response() act only
  // when a request was taken and no response was started for it; the others only on a
  // started response; otherwise they do nothing (start_response() then returns
  // operation_not_permitted). start_response() also fails, changing nothing, when the
  // status is malformed or 1xx or the Content-Length field is malformed; the caller then
  // fails the request with fail_response().
  std::error_code start_response(const ResponseHead& head);
  void write_body(std::string_view bytes);
  void write_body(std::string&& bytes);
  void write_file(core::FileRegion region);
  // Body bytes sent without a copy: they stay owned by `bytes.owner` until written.
  void write_shared(SharedBytes bytes);
  void finish_response();
  // The application failed after the head was sent: the response is cut
  // short and the connection closes.
  void abort_response();
  // The application failed before the head was sent: an error response
  // (500 with the given detail, say) and the connection closes.
  void fail_response(int status, std::string_view detail);

  // The server is closing: end the connection after the response in progress, or now
  // when none is (a partly received request is dropped). The response says
  // "Connection: close" if its head has not been produced yet.
  void close_after_response();

  // With record_responses: the responses produced since the last call, in order.
  // (A vector, not a deque: an empty one costs nothing per connection.)
  [[nodiscard]] bool has_records() const noexcept { return !records_.empty(); }
  [[nodiscard]] std::vector<ResponseRecord> take_records() { return std::exchange(records_, {}); }
  // The connection is going away: a response in progress is recorded as it stands.
  void abandon();

  // Output ready to send, in order, handed to `sink` chunk by chunk (the connection keeps
  // its room for the next response).
  [[nodiscard]] bool has_output() const noexcept { return !output_.empty(); }
  template <typename Sink>
  void drain_output(Sink&& sink) {
    for (OutputChunk& chunk : output_) sink(std::move(chunk));
    output_.clear();
  }
  // Received bytes not parsed yet (bounded while a request is served).
  [[nodiscard]] std::size_t buffered_input() const noexcept { return input_.size() - input_pos_; }

  // The network layer should read more bytes now.
  [[nodiscard]] bool wants_read() const noexcept {
    return (state_ == State::reading && !eof_) || parser_.streaming();
  }
  // No further request will be served: close once the output is sent.
  [[nodiscard]] bool closing() const noexcept { return state_ == State::closing; }
  // Part of a request head has arrived, and the rest is awaited (a slowloris client
  // stays here).
  [[nodiscard]] bool reading_head() const noexcept {
    return state_ == State::reading && parser_.in_head();
  }
  // Between requests with nothing in hand: no byte of a next request received, no request
  // or response in progress, no output or record waiting, no end of input or close
  // decided. A connection at rest is as good as a new one (see net::Exchange).
  [[nodiscard]] bool at_rest() const noexcept {
    return state_ == State::reading && !eof_ && !close_after_ && input_.empty() && !ready_ &&
           output_.empty() && records_.empty() && !pending_ && parser_.at_message_start();
  }
  // Memory its buffers hold on to between requests (a large head leaves a large one).
  [[nodiscard]] std::size_t retained_bytes() const noexcept {
    return input_.capacity() + output_.capacity() * sizeof(OutputChunk) + parser_.retained_bytes() +
           spare_.capacity();
  }
  // Gives back the string of a response head the socket took whole: the next response's
  // head is written into it instead of a new allocation. Kept when no spare is kept yet and
  // it is no larger than kMaxSpare; emptied.
  void recycle(std::string&& sent) noexcept;
  static constexpr std::size_t kMaxSpare = 4096;
  // A response was started and not finished yet.
  [[nodiscard]] bool responding() const noexcept { return state_ == State::responding; }

 private:
  enum class State { reading, request_ready, in_app, responding, closing };

  void advance();
  void advance_body();
  void close_input();
  // Every byte of output goes through emit() (merged into small strings) or push_output()
  // (a chunk of its own), which count it in emitted_.
  void emit(std::string_view bytes);
  void emit(std::string&& bytes);
  void push_output(OutputChunk chunk, std::uint64_t size);
  // One admitted piece of body of n bytes: counted, and framed as one chunk when the
  // response is chunked (one chunk per application write, as waitress); put() emits it.
  template <typename Put>
  void framed(std::uint64_t n, Put&& put) {
    body_sent_ += n;
    bool chunked = framing_.kind == Framing::Kind::chunked;
    if (chunked) emit(chunk_header(n));
    put();
    if (chunked) emit(kChunkTrailer);
  }
  void warn(std::string_view message);
  void record(int status, std::uint64_t body_bytes);
  std::uint64_t admit(std::uint64_t n);  // bytes of n the framing lets through

  ConnectionSettings settings_;
  DateSource& dates_;
  Parser parser_;
  State state_ = State::reading;
  bool eof_ = false;
  bool close_after_ = false;  // the connection ends after the current response

  std::string input_;
  std::size_t input_pos_ = 0;
  std::shared_ptr<IncomingRequest> ready_;

  // The request being answered (its head without fields) and its framing.
  RequestHead current_;
  int current_status_ = 0;
  Framing framing_;
  std::uint64_t body_sent_ = 0;
  bool warned_ = false;

  std::vector<OutputChunk> output_;
  std::string spare_;          // see recycle()
  std::uint64_t emitted_ = 0;  // bytes ever put in output_

  // The request being answered (record_responses only; null otherwise, so an unlogged
  // connection pays one pointer).
  std::unique_ptr<core::AccessRecord> pending_;
  std::vector<ResponseRecord> records_;
};

}  // namespace waitron::http
