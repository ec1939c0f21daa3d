#include "http/connection.hpp"

#include <utility>

#include "http/chunked_encoder.hpp"
#include "http/rfc9110.hpp"

namespace waitron::http {

namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// Small writes are merged into one string chunk up to this size; larger ones
// become chunks of their own.
constexpr std::size_t kMergeLimit = 16 * 1024;
// A response head's usual size at most (a larger one grows its string once).
constexpr std::size_t kHeadRoom = 512;
// Consumed input is erased once this much has accumulated in front of the unread part.
constexpr std::size_t kCompactAt = 16 * 1024;
// Bytes a client may send ahead while its request is served (pipelining); past this the
// connection ends after the current response instead of buffering without limit.
constexpr std::size_t kMaxAheadSlack = 64 * 1024;

// The body bytes of a complete error response (what follows its head).
std::uint64_t error_body_bytes(std::string_view response) {
  std::size_t end = response.find("\r\n\r\n");
  return end == std::string_view::npos ? 0 : response.size() - end - 4;
}

std::string protocol_of(int version_minor) {
  return "HTTP/1." + std::to_string(version_minor);
}

// The access log's view of a request: its line and the fields it reports.
core::AccessRecord request_record(const RequestHead& head) {
  core::AccessRecord r;
  r.method = head.method;
  r.target = head.target;
  r.protocol = protocol_of(head.version_minor);
  r.request_line = r.method + " " + r.target + " " + r.protocol;
  for (const Field& f : head.fields) {
    auto is = [&](std::string_view name) { return iequals(f.name, name); };
    if (is("x-forwarded-for")) {
      r.forwarded_for = r.forwarded_for ? *r.forwarded_for + ", " + f.value : f.value;
    } else if (is("user-agent") && !r.user_agent) {
      r.user_agent = f.value;
    } else if (is("referer") && !r.referer) {
      r.referer = f.value;
    }
  }
  return r;
}

}  // namespace

Connection::Connection(ConnectionSettings settings, DateSource& dates)
    : settings_(std::move(settings)), dates_(dates), parser_(settings_.parser) {}

void Connection::receive(std::string_view bytes) {
  if (state_ == State::closing || eof_) return;  // never parsed: see the contract
  if (parser_.streaming()) {
    // The body of the request being served keeps arriving (stream_request_body).
    input_.append(bytes);
    advance_body();
    return;
  }
  if (state_ != State::reading &&
      buffered_input() + bytes.size() > settings_.parser.max_head_bytes + kMaxAheadSlack) {
    // Far more pipelined input than one head: serve the request in flight, then close.
    input_.clear();
    input_pos_ = 0;
    close_after_response();
    eof_ = true;  // nothing more is taken from this client
    return;
  }
  if (state_ == State::reading && input_.empty() && parser_.reading_length_body()) {
    // Body bytes with nothing buffered before them go to the parser where they are (into
    // the request's body), not through input_ first: one copy less. Only what follows the
    // body is kept; the parser's end (complete or failed) stays for advance() to act on.
    std::size_t consumed = 0;
    if (parser_.feed(bytes, consumed) == Parser::Event::need_more) return;  // all taken
    bytes.remove_prefix(consumed);
  }
  input_.append(bytes);
  if (state_ == State::reading) advance();
}

std::span<char> Connection::receive_room(std::size_t max) {
  if (state_ != State::reading || eof_ || !input_.empty()) return {};
  return parser_.body_room(max);
}

void Connection::received_in_place(std::size_t n) {
  // The body's bytes, where receive() would have put them: only their end matters here.
  if (parser_.commit_body(n) == Parser::Event::message_complete) advance();
}

void Connection::receive_eof() {
  if (eof_) return;
  eof_ = true;
  if (parser_.streaming()) {
    // The body can never complete: its reader gets an error; the response may still go.
    parser_.abort_stream(std::make_error_code(std::errc::connection_aborted));
    close_after_ = true;
  }
  if (state_ == State::reading) advance();
}

void Connection::advance_body() {
  while (parser_.streaming()) {
    std::size_t consumed = 0;
    Parser::Event event = parser_.feed(std::string_view(input_).substr(input_pos_), consumed);
    input_pos_ += consumed;
    if (input_pos_ == input_.size()) {
      input_.clear();
      input_pos_ = 0;
    }
    if (event == Parser::Event::need_more || event == Parser::Event::message_complete) return;
    if (event == Parser::Event::failed) {
      // The parser failed the stream (its reader sees the error). The application owns the
      // response now, so no error response: the connection ends after it.
      close_after_ = true;
      input_.clear();
      input_pos_ = 0;
      eof_ = true;  // nothing more is taken from this client
      return;
    }
  }
}

void Connection::close_input() {
  state_ = State::closing;
  input_.clear();
  input_pos_ = 0;
}

void Connection::advance() {
  while (state_ == State::reading) {
    std::size_t consumed = 0;
    Parser::Event event = parser_.feed(std::string_view(input_).substr(input_pos_), consumed);
    input_pos_ += consumed;
    switch (event) {
      case Parser::Event::need_more:
        if (eof_) {
          // RFC 9112 §9.6: the peer is done; an incomplete request is dropped
          // without a response, as waitress does.
          close_input();
          return;
        }
        if (input_pos_ == input_.size()) {
          input_.clear();
          input_pos_ = 0;
        }
        return;
      case Parser::Event::head_complete:
        if (parser_.head().expect_continue && parser_.expects_body()) emit(kContinue);
        if (settings_.parser.stream_bodies && parser_.expects_body()) {
          // stream_request_body: the application starts now; the body follows into it.
          ready_ = parser_.take_streaming_request();
          state_ = State::request_ready;
          advance_body();
          return;
        }
        break;
      case Parser::Event::message_complete:
        ready_ = parser_.take_request();
        state_ = State::request_ready;
        if (input_pos_ > kCompactAt) {
          input_.erase(0, input_pos_);
          input_pos_ = 0;
        }
        return;
      case Parser::Event::failed: {
        std::error_code ec = parser_.error();
        ErrorLimits limits{settings_.parser.max_head_bytes, settings_.parser.max_body_bytes};
        std::string detail =
            parser_.error_detail().empty() ? error_detail(ec, limits) : parser_.error_detail();
        std::string response =
            error_response(error_status(ec), detail, parser_.error_version_minor(), settings_.ident,
                           dates_.http_date());
        std::uint64_t body = error_body_bytes(response);
        if (settings_.record_responses) {
          pending_ = std::make_unique<core::AccessRecord>();
          pending_->request_line = parser_.request_line();
        }
        emit(std::move(response));
        record(error_status(ec), body);
        close_input();
        return;
      }
    }
  }
}

std::shared_ptr<IncomingRequest> Connection::take_request() {
  if (state_ != State::request_ready) return nullptr;
  state_ = State::in_app;
  const RequestHead& head = ready_->head;
  current_ = RequestHead{};
  current_.method = head.method;
  current_.target = head.target;
  current_.version_minor = head.version_minor;
  current_.keep_alive = head.keep_alive && !close_after_;
  if (settings_.record_responses) {
    pending_ = std::make_unique<core::AccessRecord>(request_record(head));
  }
  return std::move(ready_);
}

std::error_code Connection::start_response(const ResponseHead& head) {
  if (state_ != State::in_app) return std::make_error_code(std::errc::operation_not_permitted);
  if (close_after_) current_.keep_alive = false;  // announced in the head
  // Room for the head and, when the body is small and its length known, for the body
  // behind it: a small response costs one allocation.
  std::string bytes = std::exchange(spare_, std::string());
  bytes.reserve(kHeadRoom);
  Framing framing;
  if (auto ec =
          frame_response(head, current_, settings_.ident, dates_.http_date(), framing, bytes)) {
    return ec;
  }
  if (framing.kind == Framing::Kind::content_length &&
      bytes.size() + framing.content_length <= kMergeLimit) {
    bytes.reserve(bytes.size() + static_cast<std::size_t>(framing.content_length));
  }
  framing_ = framing;
  current_status_ = status_code(head.status);
  body_sent_ = 0;
  warned_ = false;
  state_ = State::responding;
  emit(std::move(bytes));
  return {};
}

void Connection::warn(std::string_view message) {
  if (warned_) return;
  warned_ = true;
  if (settings_.logger) settings_.logger->write(core::LogLevel::warning, "waitron", message);
}

std::uint64_t Connection::admit(std::uint64_t n) {
  switch (framing_.kind) {
    case Framing::Kind::none:
      if (!current_.is_head_method()) {
        warn(
            "application-written content was ignored due to HTTP response that may not "
            "contain a message-body: (" +
            std::to_string(current_status_) + ")");
      }
      return 0;
    case Framing::Kind::content_length: {
      std::uint64_t room = framing_.content_length - body_sent_;
      if (n > room) {
        warn(
            "application-written content exceeded the number of bytes specified by "
            "Content-Length header (" +
            std::to_string(framing_.content_length) + ")");
        return room;
      }
      return n;
    }
    case Framing::Kind::chunked:
    case Framing::Kind::close_delimited:
      return n;
  }
  return 0;
}

void Connection::write_body(std::string_view bytes) {
  if (state_ != State::responding || bytes.empty()) return;
  std::size_t n = static_cast<std::size_t>(admit(bytes.size()));
  if (n > 0) framed(n, [&] { emit(bytes.substr(0, n)); });
}

void Connection::write_body(std::string&& bytes) {
  if (state_ != State::responding || bytes.empty()) return;
  std::size_t n = static_cast<std::size_t>(admit(bytes.size()));
  if (n == 0) return;
  bytes.resize(n);
  framed(n, [&] { emit(std::move(bytes)); });
}

void Connection::write_shared(SharedBytes bytes) {
  if (state_ != State::responding || bytes.bytes.empty()) return;
  std::size_t n = static_cast<std::size_t>(admit(bytes.bytes.size()));
  if (n == 0) return;
  bytes.bytes = bytes.bytes.substr(0, n);
  framed(n, [&] { push_output(std::move(bytes), n); });
}

void Connection::write_file(core::FileRegion region) {
  if (state_ != State::responding || region.length() == 0) return;
  std::uint64_t n = admit(region.length());
  if (n == 0) return;
  if (n < region.length()) {
    core::FileRegion shorter;
    if (core::FileRegion::dup_from(region.fd(), region.offset(), n, shorter)) {
      abort_response();
      return;
    }
    region = std::move(shorter);
  }
  framed(n, [&] { push_output(std::move(region), n); });
}

void Connection::finish_response() {
  if (state_ != State::responding) return;
  bool keep_alive = framing_.keep_alive && !close_after_;
  if (parser_.streaming()) {
    // The response ended before its request's body: the rest of the body is not read, so
    // the next request's start is unknown. Close.
    parser_.abort_stream(std::make_error_code(std::errc::operation_canceled));
    keep_alive = false;
  }
  if (framing_.kind == Framing::Kind::chunked) {
    emit(kLastChunk);
  } else if (framing_.kind == Framing::Kind::content_length &&
             body_sent_ < framing_.content_length) {
    // The client would wait for the missing bytes: close to end the response.
    warned_ = false;
    warn("application returned too few bytes (" + std::to_string(body_sent_) +
         ") for specified Content-Length (" + std::to_string(framing_.content_length) +
         ") via app_iter");
    keep_alive = false;
  }
  record(current_status_, body_sent_);
  if (!keep_alive) {
    close_input();
    return;
  }
  state_ = State::reading;
  advance();
}

void Connection::close_after_response() {
  switch (state_) {
    case State::reading:
    case State::request_ready:
      close_input();
      break;
    case State::in_app:
      current_.keep_alive = false;
      break;
    case State::responding:
      framing_.keep_alive = false;
      break;
    case State::closing:
      break;
  }
}

void Connection::abort_response() {
  if (state_ == State::responding) record(current_status_, body_sent_);
  if (state_ == State::responding || state_ == State::in_app) close_input();
}

void Connection::abandon() {
  if (state_ != State::responding) return;
  record(current_status_, body_sent_);
  close_input();
}

void Connection::fail_response(int status, std::string_view detail) {
  if (state_ != State::in_app) return;
  std::string response =
      error_response(status, detail, current_.version_minor, settings_.ident, dates_.http_date());
  std::uint64_t body = error_body_bytes(response);
  emit(std::move(response));
  record(status, body);
  close_input();
}

void Connection::record(int status, std::uint64_t body_bytes) {
  if (!settings_.record_responses) return;
  ResponseRecord& r = records_.emplace_back();
  if (pending_) r.record = std::move(*pending_);
  r.output_end = emitted_;
  r.record.status = status;
  r.record.body_bytes = body_bytes;
  pending_.reset();
}

void Connection::push_output(OutputChunk chunk, std::uint64_t size) {
  emitted_ += size;
  output_.push_back(std::move(chunk));
}

void Connection::recycle(std::string&& sent) noexcept {
  // Only a string with memory of its own is worth keeping (a short one lives inside the
  // object), and only if none is kept yet.
  const std::size_t inside = std::string().capacity();
  if (spare_.capacity() > inside || sent.capacity() <= inside || sent.capacity() > kMaxSpare) {
    return;
  }
  spare_ = std::move(sent);
  spare_.clear();
}

void Connection::emit(std::string_view bytes) {
  if (bytes.empty()) return;
  emitted_ += bytes.size();
  if (!output_.empty()) {
    if (auto* last = std::get_if<std::string>(&output_.back());
        last && last->size() + bytes.size() <= kMergeLimit) {
      last->append(bytes);
      return;
    }
  }
  output_.emplace_back(std::string(bytes));
}

void Connection::emit(std::string&& bytes) {
  if (bytes.empty()) return;
  if (bytes.size() < kMergeLimit && !output_.empty()) {
    if (auto* last = std::get_if<std::string>(&output_.back());
        last && last->size() + bytes.size() <= kMergeLimit) {
      emitted_ += bytes.size();
      last->append(bytes);
      return;
    }
  }
  const std::size_t n = bytes.size();
  push_output(std::move(bytes), n);  // nothing to merge with: moved, not copied
}

}  // namespace waitron::http
