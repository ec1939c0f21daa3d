#include "work/task.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <utility>

#include "core/forced_unwind.hpp"
#include "http/response_head.hpp"
#include "http/rfc9110.hpp"
#include "http/target.hpp"

namespace waitron::work {

namespace {

// The request body as a BodyReader: over the complete buffer, or over the stream of a body
// still arriving (stream_request_body), where reads wait for bytes. Reads never consume, so
// random access stays possible. Shared readers keep the request alive.
class RequestBodyReader final : public BodyReader {
 public:
  explicit RequestBodyReader(std::shared_ptr<const http::IncomingRequest> request) noexcept
      : request_(std::move(request)), stream_(request_->stream.get()) {}

  std::size_t read(char* out, std::size_t n) override {
    std::size_t copied = read_at(position_, out, n);
    position_ += copied;
    return copied;
  }
  [[nodiscard]] std::uint64_t remaining() const override {
    std::uint64_t total = size();
    return total > position_ ? total - position_ : 0;
  }
  [[nodiscard]] std::uint64_t size() const override {
    if (!stream_) return request_->body.size();
    std::uint64_t length = 0;
    if (auto ec = stream_->wait_complete(length)) fail(ec);
    return length;
  }
  [[nodiscard]] std::uint64_t available() const override {
    return stream_ ? stream_->size() : request_->body.size();
  }
  [[nodiscard]] bool complete() const override { return !stream_ || stream_->complete(); }
  std::size_t read_at(std::uint64_t offset, char* out, std::size_t n) const override {
    std::size_t copied = 0;
    if (n == 0) return 0;
    if (stream_) {
      if (auto ec = stream_->read_at(offset, std::span<char>(out, n), copied, true)) fail(ec);
      return copied;
    }
    if (offset >= request_->body.size() ||
        request_->body.peek(offset, std::span<char>(out, n), copied)) {
      return 0;
    }
    return copied;
  }
  [[nodiscard]] std::optional<std::string_view> contiguous() const override {
    return stream_ ? stream_->memory_view() : request_->body.memory_view();
  }
  [[nodiscard]] std::shared_ptr<BodyReader> share() const override {
    return std::make_shared<RequestBodyReader>(request_);
  }
  // Scans block by block instead of byte by byte.
  std::string readline(std::size_t limit) override {
    std::string out;
    char block[4096];
    while (out.size() < limit) {
      std::size_t got = read_at(position_, block, std::min(sizeof block, limit - out.size()));
      if (got == 0) break;
      std::string_view view(block, got);
      std::size_t nl = view.find('\n');
      std::size_t take = nl == std::string_view::npos ? got : nl + 1;
      out.append(block, take);
      position_ += take;
      if (nl != std::string_view::npos) break;
    }
    return out;
  }

 private:
  [[noreturn]] static void fail(std::error_code ec) {
    if (ec == std::errc::connection_aborted || ec == std::errc::operation_canceled) {
      throw BodyError("the client disconnected before the request body was complete");
    }
    throw BodyError("the request body could not be received: " + ec.message());
  }

  std::shared_ptr<const http::IncomingRequest> request_;
  core::StreamBuffer* stream_;  // owned by request_; null for a complete body
  std::uint64_t position_ = 0;
};

// The request as the App sees it. The environ, the header list and PATH_INFO are built on
// first use (a native App that reads only path() and a header never builds the environ's
// map). Each is built under a mutex and published by an atomic flag, which keeps the const
// accessors safe from any thread; std::call_once would cost a futex wake-up system call per
// request (glibc's pthread_once wakes possible waiters after every first call).
class TaskRequest final : public Request {
 public:
  TaskRequest(std::shared_ptr<http::IncomingRequest> req, const TaskSettings& settings,
              const Peer& peer, const ResponsePipe& pipe)
      : owned_(req),
        req_(*req),
        settings_(settings),
        peer_(peer),
        pipe_(pipe),
        body_(std::move(req)) {}
  std::string_view method() const override { return req_.head.method; }
  std::string_view target() const override { return req_.head.target; }
  std::string_view path() const override {
    once(path_built_,
         [this] { path_ = path_info(req_.head.target, settings_.environ.url_prefix); });
    return path_;
  }
  std::string_view query() const override { return http::split_target(req_.head.target).query; }
  int http_minor() const override { return req_.head.version_minor; }
  const std::vector<Header>& headers() const override {
    once(headers_built_, [this] {
      std::vector<Header> built;  // whole or not at all, should an allocation fail
      built.reserve(req_.head.fields.size());
      for (auto& f : req_.head.fields) built.push_back(Header{f.name, f.value});
      headers_ = std::move(built);
    });
    return headers_;
  }
  std::optional<std::string_view> header(std::string_view name) const override {
    if (auto* f = req_.head.find(name)) return std::string_view(f->value);
    return std::nullopt;
  }
  bool any_header(const HeaderPredicate& matches) const override {
    for (const http::Field& f : req_.head.fields) {
      if (matches(f.name, f.value)) return true;
    }
    return false;
  }
  const Environ& environ() const override {
    once(environ_built_, [this] {
      environ_ =
          build_environ(req_.head, req_.stream ? std::nullopt : std::optional(req_.body_length),
                        settings_.environ, peer_);
    });
    return environ_;
  }
  void visit_environ(const EnvironVisitor& visit) const override {
    work::visit_environ(req_.head, req_.stream ? std::nullopt : std::optional(req_.body_length),
                        settings_.environ, peer_, visit);
  }
  std::string_view remote_addr() const override { return peer_.remote_addr; }
  std::optional<std::uint16_t> remote_port() const override { return peer_.remote_port; }
  BodyReader& body() override { return body_; }
  bool client_disconnected() const override { return pipe_.disconnected() || pipe_.peer_closed(); }

 private:
  std::shared_ptr<http::IncomingRequest> owned_;
  http::IncomingRequest& req_;
  const TaskSettings& settings_;
  const Peer& peer_;
  const ResponsePipe& pipe_;
  RequestBodyReader body_;
  // Runs build() unless `built` is set, then sets it; any thread. One mutex serves the
  // three views: a build must not call another view's accessor (it would deadlock).
  template <typename Build>
  void once(std::atomic<bool>& built, Build&& build) const {
    if (built.load(std::memory_order_acquire)) return;
    std::lock_guard lock(build_mutex_);
    if (built.load(std::memory_order_relaxed)) return;
    build();
    built.store(true, std::memory_order_release);
  }

  mutable std::mutex build_mutex_;
  mutable std::atomic<bool> environ_built_{false}, headers_built_{false}, path_built_{false};
  mutable Environ environ_;
  mutable std::vector<Header> headers_;
  mutable std::string path_;
};

class TaskResponse final : public Response {
 public:
  explicit TaskResponse(ResponsePipe& pipe) noexcept : pipe_(pipe) {}

  void start(std::string status, std::vector<Header> headers) override {
    if (head_sent_) throw ResponseError("start() called after the response head was sent");
    http::check_response_head(status, headers);
    // http::Field is waitron::Header: the application's vector becomes the head's.
    head_.status = std::move(status);
    head_.fields = std::move(headers);
    started_ = true;
  }
  void write(std::string_view bytes) override { write(std::string(bytes)); }
  void write(std::string&& bytes) override {
    if (bytes.empty()) {
      send_head();  // the head alone, if not sent yet
      return;
    }
    if (!head_sent_) {
      send_head(std::move(bytes));  // the head and these bytes in one event
    } else {
      ResponseEvent ev;
      ev.kind = ResponseEvent::Kind::bytes;
      ev.bytes = std::move(bytes);
      pipe_.push(std::move(ev));
    }
    if (!pipe_.wait_for_room()) throw ClientDisconnected();
  }
  void write_shared(std::string_view bytes, std::shared_ptr<const void> owner) override {
    send_head();
    if (bytes.empty()) return;
    ResponseEvent ev;
    ev.kind = ResponseEvent::Kind::shared;
    ev.shared = http::SharedBytes{bytes, std::move(owner)};
    pipe_.push(std::move(ev));
    if (!pipe_.wait_for_room()) throw ClientDisconnected();
  }
  void send_file(int fd, std::uint64_t offset, std::uint64_t length) override {
    send_head();
    if (length == 0) return;
    ResponseEvent ev;
    ev.kind = ResponseEvent::Kind::file;
    if (auto ec = core::FileRegion::dup_from(fd, offset, length, ev.file)) {
      throw std::system_error(ec, "send_file");
    }
    pipe_.push(std::move(ev));
    if (pipe_.disconnected()) throw ClientDisconnected();
  }
  bool headers_sent() const override { return head_sent_; }

  // After the App returned normally.
  void finish() {
    if (!started_) throw ResponseError("the application returned without calling start()");
    send_head();
    pipe_.push(ResponseEvent::of(ResponseEvent::Kind::finish));
  }
  // After the App threw.
  void fail(std::string detail) {
    ResponseEvent ev;
    if (head_sent_) {
      ev.kind = ResponseEvent::Kind::abort;
    } else {
      ev.kind = ResponseEvent::Kind::fail;
      ev.status = 500;
      ev.bytes = std::move(detail);
    }
    pipe_.push(std::move(ev));
  }

 private:
  // Pushes the head, with the body's first bytes if given, once.
  void send_head(std::string first_bytes = {}) {
    if (head_sent_) return;
    if (!started_) throw ResponseError("start() was not called before the body was written");
    if (pipe_.disconnected()) throw ClientDisconnected();
    head_sent_ = true;
    ResponseEvent start = ResponseEvent::of(ResponseEvent::Kind::start);
    start.head = std::move(head_);
    start.bytes = std::move(first_bytes);
    pipe_.push(std::move(start));
  }

  ResponsePipe& pipe_;
  http::ResponseHead head_;
  bool started_ = false;
  bool head_sent_ = false;
};

void log(const TaskSettings& s, core::LogLevel level, const std::string& message) {
  if (s.logger) s.logger->write(level, "waitron", message);
}

}  // namespace

void run_task(App& app, std::shared_ptr<http::IncomingRequest> request,
              std::shared_ptr<ResponsePipe> pipe, const TaskSettings& settings,
              Peer peer) noexcept {
  try {
    TaskRequest req(std::move(request), settings, peer, *pipe);
    // The path of the error log lines, decoded only when one is written.
    const auto path = [&req]() -> std::string { return std::string(req.path()); };
    TaskResponse res(*pipe);
    try {
      app.handle(req, res);
      res.finish();
    } catch (const ClientDisconnected&) {
      log(settings, core::LogLevel::info, "Client disconnected while serving " + path());
      pipe->push(ResponseEvent::of(ResponseEvent::Kind::abort));
    } catch (const ResponseAbandoned&) {
      pipe->push(ResponseEvent::of(ResponseEvent::Kind::abort));
    } catch (const std::exception& e) {
      log(settings, core::LogLevel::error, "Exception while serving " + path() + ": " + e.what());
      res.fail(settings.expose_tracebacks
                   ? std::string(e.what())
                   : "The server encountered an unexpected internal server error");
    } catch (...) {
      if (core::caught_forced_unwind()) core::hang_ended_thread();  // as below
      log(settings, core::LogLevel::error,
          "Exception while serving " + path() + ": unknown exception");
      res.fail("The server encountered an unexpected internal server error");
    }
  } catch (...) {
    // The application's runtime ended the thread (CPython's pthread_exit while its
    // interpreter finalizes) past every hang_if_ended: the thread may neither unwind out
    // of this noexcept function nor go on serving.
    if (core::caught_forced_unwind()) core::hang_ended_thread();
    // Out of memory while building the request or an event: close the connection.
    pipe->push(ResponseEvent::of(ResponseEvent::Kind::abort));
  }
}

}  // namespace waitron::work
