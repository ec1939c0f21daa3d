#include "http/parser.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

#include "http/rfc9110.hpp"
#include "waitron/error.hpp"

namespace waitron::http {

namespace {

// Fields a request head usually has (a browser sends 8 to 12): the room taken at the first.
constexpr std::size_t kUsualFieldCount = 12;

Parser& self(llhttp_t* p) noexcept {
  return *static_cast<Parser*>(p->data);
}

}  // namespace

const Field* RequestHead::find(std::string_view name) const noexcept {
  for (const Field& f : fields) {
    if (iequals(f.name, name)) return &f;
  }
  return nullptr;
}

Parser::Parser(ParserLimits limits) : limits_(std::move(limits)), scanner_(limits_.max_head_bytes) {
  llhttp_settings_init(&settings_);
  settings_.on_method = &Parser::on_method;
  settings_.on_url = &Parser::on_url;
  settings_.on_header_field = &Parser::on_header_field;
  settings_.on_header_value = &Parser::on_header_value;
  settings_.on_header_value_complete = &Parser::on_header_value_complete;
  settings_.on_headers_complete = &Parser::on_headers_complete;
  settings_.on_message_complete = &Parser::on_message_complete;
  start_message();
}

Parser::~Parser() {
  // A reader may be waiting for the rest of a streamed body: it must not wait forever.
  if (stream_) stream_->fail(std::make_error_code(std::errc::connection_aborted));
}

std::shared_ptr<IncomingRequest> Parser::take_streaming_request() {
  if (!limits_.stream_bodies || !expects_body() || stream_ || !request_) return nullptr;
  stream_ = std::make_shared<core::StreamBuffer>(limits_.inbuf_overflow, limits_.temp_dir);
  request_->stream = stream_;
  return std::move(request_);
}

void Parser::abort_stream(std::error_code why) {
  if (stream_) stream_->fail(why);
  stream_.reset();
  stage_ = Stage::failed;
}

core::Buffer& Parser::body_sink() {
  if (stream_) return *stream_;
  return request_->body;
}

// The body ended: a streamed one is finished and the next message starts at once.
Parser::Event Parser::body_done() {
  stage_ = Stage::complete;
  if (stream_) {
    stream_->finish();
    stream_.reset();
    start_message();
  }
  return Event::message_complete;
}

void Parser::start_message() {
  scanner_.reset();
  stage_ = Stage::head;
  head_buf_.clear();
  request_ = std::make_shared<IncomingRequest>(limits_.inbuf_overflow, limits_.temp_dir);
  chunked_.reset();
  body_remaining_ = 0;
}

bool Parser::in_message() const noexcept {
  if (stage_ == Stage::head) return head_buf_.find_first_not_of("\r\n") != std::string::npos;
  return stage_ == Stage::body_length || stage_ == Stage::body_chunked;
}

std::string_view Parser::request_line() const noexcept {
  constexpr std::size_t kMaxLine = 8192;
  std::string_view head(head_buf_);
  std::size_t begin = head.find_first_not_of("\r\n");
  if (begin == std::string_view::npos) return {};
  head.remove_prefix(begin);
  return head.substr(0, std::min(head.find_first_of("\r\n"), kMaxLine));
}

bool Parser::expects_body() const noexcept {
  return stage_ == Stage::body_length || stage_ == Stage::body_chunked;
}

Parser::Event Parser::fail(std::error_code ec, int version_minor) {
  if (stream_) {
    stream_->fail(ec);
    stream_.reset();
  }
  stage_ = Stage::failed;
  error_ = ec;
  error_version_minor_ = version_minor;
  return Event::failed;
}

std::shared_ptr<IncomingRequest> Parser::take_request() {
  if (stage_ != Stage::complete) return nullptr;
  std::shared_ptr<IncomingRequest> done = std::move(request_);
  start_message();
  return done;
}

Parser::Event Parser::feed(std::string_view in, std::size_t& consumed) {
  consumed = 0;
  switch (stage_) {
    case Stage::head: {
      // Copy no more than the head may still grow to; the scanner fails at
      // the limit, so nothing past it is ever needed.
      std::size_t room = static_cast<std::size_t>(
          std::min<std::uint64_t>(limits_.max_head_bytes - head_buf_.size(), in.size()));
      if (room == 0 && !in.empty()) {
        // max_request_header_size 0 (or a full buffer): nothing can ever be a head.
        return fail(errc::head_too_large, -1);
      }
      std::size_t before = head_buf_.size();
      HeadScanner::Status s;
      if (before == 0) {
        // The usual case, a head that starts in this input: scanned where it is, and only
        // the head is copied (not the body bytes that follow it in the same read). The
        // scanner advances only once the bytes it scanned are in head_buf_ (the copy may
        // throw), so its next scan sees the same bytes from the start.
        std::string_view scanned = in.substr(0, room);
        HeadScanner probe = scanner_;
        s = probe.scan(scanned);
        head_buf_.assign(
            scanned.substr(0, s == HeadScanner::Status::complete ? probe.head_end() : room));
        scanner_ = probe;
      } else {
        head_buf_.append(in.substr(0, room));
        s = scanner_.scan(head_buf_);
      }
      if (s == HeadScanner::Status::failed) {
        consumed = room;
        // waitress answers 431 with an HTTP/1.0 status line, whatever the request.
        int minor = scanner_.error() == errc::head_too_large ? -1 : scanner_.version_minor();
        if (scanner_.error() == errc::malformed_method) {
          std::string_view line = std::string_view(head_buf_).substr(scanner_.request_line_begin());
          error_detail_ =
              "Malformed HTTP method \"" + std::string(line.substr(0, line.find(' '))) + "\"";
        }
        return fail(scanner_.error(), minor);
      }
      if (s == HeadScanner::Status::need_more) {
        consumed = room;
        return Event::need_more;
      }
      consumed = scanner_.head_end() - before;
      head_buf_.resize(scanner_.head_end());
      return finish_head();
    }
    case Stage::body_length: {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(body_remaining_, in.size()));
      if (n > 0 && body_sink().append(in.substr(0, n))) {
        return fail(errc::body_buffer_failed, body_version_minor_);
      }
      consumed = n;
      body_remaining_ -= n;
      if (request_) request_->body_length += n;
      if (body_remaining_ > 0) return Event::need_more;
      return body_done();
    }
    case Stage::body_chunked: {
      core::Buffer& sink = body_sink();
      std::uint64_t before = sink.size();
      ChunkedDecoder::Status s = chunked_->decode(in, consumed, sink);
      if (request_) request_->body_length += sink.size() - before;
      if (s == ChunkedDecoder::Status::failed) return fail(chunked_->error(), body_version_minor_);
      if (s == ChunkedDecoder::Status::need_more) return Event::need_more;
      return body_done();
    }
    case Stage::complete:
      return Event::message_complete;
    case Stage::failed:
      return Event::failed;
  }
  return Event::failed;
}

std::span<char> Parser::body_room(std::size_t max) {
  if (stage_ != Stage::body_length || stream_ || !request_) return {};
  // Room grows with what arrived (at most 64 KiB ahead, or as much as came already), so a
  // client announcing a large body and sending it slowly holds no more than twice what
  // it sent, plus 64 KiB.
  constexpr std::uint64_t kAhead = 64 * 1024;
  std::uint64_t n = std::min(
      {body_remaining_, static_cast<std::uint64_t>(max), std::max(kAhead, request_->body_length)});
  return request_->body.spare(static_cast<std::size_t>(n));
}

Parser::Event Parser::commit_body(std::size_t n) noexcept {
  assert(stage_ == Stage::body_length && !stream_ && request_ && n <= body_remaining_);
  request_->body.commit(n);
  body_remaining_ -= n;
  request_->body_length += n;
  if (body_remaining_ > 0) return Event::need_more;
  return body_done();
}

Parser::Event Parser::finish_head() {
  RequestHead& head = request_->head;
  head.head_bytes = head_buf_.size();
  head.version_minor = scanner_.version_minor();
  field_name_.clear();
  field_value_.clear();
  host_count_ = content_length_count_ = content_type_count_ = transfer_encoding_count_ = 0;
  transfer_encoding_chunked_ = connection_close_ = connection_keep_alive_ = false;
  field_error_.clear();
  error_detail_.clear();

  llhttp_init(&llhttp_, HTTP_REQUEST, &settings_);
  llhttp_.data = this;
  // llhttp never frames a body here (stage 3 does), so its own rulings on
  // Transfer-Encoding (with Content-Length, or "chunked" repeated) are
  // switched off and replaced by check_framing(), which refuses all of those
  // too, in a fixed order. These two flags relax nothing else.
  llhttp_set_lenient_chunked_length(&llhttp_, 1);
  llhttp_set_lenient_transfer_encoding(&llhttp_, 1);
  std::string_view bytes(head_buf_);
  bytes.remove_prefix(scanner_.request_line_begin());
  llhttp_errno_t rc = llhttp_execute(&llhttp_, bytes.data(), bytes.size());
  if (rc != HPE_PAUSED) {
    std::error_code ec = field_error_;
    if (!ec) {
      // The scanner has vetted every byte, so llhttp can only object to what
      // it checks beyond the scanner: Content-Length digits and duplicates.
      ec = rc == HPE_INVALID_CONTENT_LENGTH      ? errc::invalid_content_length
           : rc == HPE_UNEXPECTED_CONTENT_LENGTH ? errc::duplicate_field
                                                 : errc::invalid_field_line;
    }
    return fail(ec, head.version_minor);
  }

  body_version_minor_ = head.version_minor;
  head.keep_alive =
      head.version_minor == 1 ? !connection_close_ : (connection_keep_alive_ && !connection_close_);
  if (head.chunked) {
    chunked_ = std::make_unique<ChunkedDecoder>(ChunkedLimits{
        limits_.max_body_bytes, limits_.max_chunk_extension_bytes, limits_.max_head_bytes});
    stage_ = Stage::body_chunked;
  } else if (head.content_length.value_or(0) > 0) {
    body_remaining_ = *head.content_length;
    if (!limits_.stream_bodies && request_->body.expect_total(body_remaining_)) {
      return fail(errc::body_buffer_failed, head.version_minor);
    }
    stage_ = Stage::body_length;
  } else {
    stage_ = Stage::complete;
  }
  // A bodiless request completes on the next feed(), even an empty one.
  return Event::head_complete;
}

// RFC 9112 §6.1 and §6.3, applied in a fixed order so that the outcome never
// depends on the order of the fields.
std::error_code Parser::check_framing() {
  RequestHead& head = request_->head;
  if (transfer_encoding_count_ > 0) {
    // §6.1: a server MAY treat Transfer-Encoding in an HTTP/1.0 request as
    // faulty; it is a classic smuggling vector, so waitron does (400).
    if (head.version_minor == 0) return errc::transfer_encoding_http10;
    // §6.1 and RFC 9110 §15.6.2: only "chunked", alone and once (else 501).
    if (transfer_encoding_count_ > 1 || !transfer_encoding_chunked_) {
      return errc::transfer_encoding_not_implemented;
    }
    // §6.1: Transfer-Encoding with Content-Length may be an attempt at request
    // smuggling; waitron rejects it (400) and closes.
    if (content_length_count_ > 0) return errc::transfer_encoding_with_content_length;
    head.chunked = true;
  }
  // waitress decides 413 from Content-Length before reading the body.
  if (head.content_length && *head.content_length >= limits_.max_body_bytes) {
    return errc::body_too_large;
  }
  return {};
}

int Parser::on_method(llhttp_t* p, const char* at, std::size_t n) noexcept {
  try {
    self(p).request_->head.method.append(at, n);
    return 0;
  } catch (...) {
    self(p).field_error_ = errc::internal_error;  // out of memory: a 500, not a 400
    return -1;
  }
}

int Parser::on_url(llhttp_t* p, const char* at, std::size_t n) noexcept {
  try {
    self(p).request_->head.target.append(at, n);
    return 0;
  } catch (...) {
    self(p).field_error_ = errc::internal_error;  // out of memory: a 500, not a 400
    return -1;
  }
}

int Parser::on_header_field(llhttp_t* p, const char* at, std::size_t n) noexcept {
  try {
    self(p).field_name_.append(at, n);
    return 0;
  } catch (...) {
    self(p).field_error_ = errc::internal_error;  // out of memory: a 500, not a 400
    return -1;
  }
}

int Parser::on_header_value(llhttp_t* p, const char* at, std::size_t n) noexcept {
  try {
    self(p).field_value_.append(at, n);
    return 0;
  } catch (...) {
    self(p).field_error_ = errc::internal_error;  // out of memory: a 500, not a 400
    return -1;
  }
}

int Parser::on_header_value_complete(llhttp_t* p) noexcept {
  Parser& s = self(p);
  try {
    std::string name = std::exchange(s.field_name_, {});
    std::string value(trim_ows(s.field_value_));
    s.field_value_.clear();
    // waitress drops names with '_' so that X-Auth_User cannot pose as
    // X-Auth-User once CGI turns '-' into '_' (its 1.0.0 security fix).
    if (name.find('_') != std::string::npos) return 0;
    RequestHead& head = s.request_->head;
    auto duplicate = [&] {
      s.field_error_ = errc::duplicate_field;
      s.error_detail_ = "Duplicate header: " + name;
    };
    // RFC 9110 §7.2 and RFC 9112 §3.2: one valid Host at most.
    if (iequals(name, "host")) {
      if (++s.host_count_ > 1)
        duplicate();
      else if (!is_valid_host(value))
        s.field_error_ = errc::invalid_host;
    } else if (iequals(name, "content-length")) {
      // RFC 9110 §8.6: 1*DIGIT. A list, even of equal values, is refused.
      if (++s.content_length_count_ > 1) {
        duplicate();
      } else if (auto v = parse_decimal(value)) {
        head.content_length = *v;
      } else {
        s.field_error_ = errc::invalid_content_length;
      }
    } else if (iequals(name, "content-type")) {
      // waitress refuses a second Content-Type (its duplicate-header fix).
      if (++s.content_type_count_ > 1) duplicate();
    } else if (iequals(name, "transfer-encoding")) {
      ++s.transfer_encoding_count_;
      s.transfer_encoding_chunked_ = iequals(value, "chunked");
    } else if (iequals(name, "connection")) {
      // RFC 9110 §7.6.1: Connection is a list of tokens, possibly over
      // several field lines.
      s.connection_close_ = s.connection_close_ || list_contains_token(value, "close");
      s.connection_keep_alive_ =
          s.connection_keep_alive_ || list_contains_token(value, "keep-alive");
    } else if (iequals(name, "expect")) {
      // RFC 9110 §10.1.1: only 100-continue means something, and only in 1.1.
      head.expect_continue = head.version_minor == 1 && iequals(value, "100-continue");
    }
    // Room for a browser's usual head at once, not a reallocation at the 2nd, 3rd, 5th...
    if (head.fields.capacity() == 0) head.fields.reserve(kUsualFieldCount);
    head.fields.push_back(Field{std::move(name), std::move(value)});
    return s.field_error_ ? HPE_USER : 0;
  } catch (...) {
    self(p).field_error_ = errc::internal_error;  // out of memory: a 500, not a 400
    return -1;
  }
}

int Parser::on_headers_complete(llhttp_t* p) noexcept {
  Parser& s = self(p);
  s.field_error_ = s.check_framing();
  if (s.field_error_) return -1;
  // 1: "no body"; llhttp moves straight to on_message_complete and waitron
  // frames the body itself. This also keeps llhttp from switching protocols
  // on Upgrade: such a request is an ordinary one here, as in waitress.
  return 1;
}

int Parser::on_message_complete(llhttp_t*) noexcept {
  return HPE_PAUSED;  // one message per llhttp_execute(); the head is all it sees
}

}  // namespace waitron::http
