// Test support: stand-ins for the objects a native App is handed (waitron::Request,
// Response, BodyReader), for tests of App wrappers that need no server.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <waitron/request.hpp>
#include <waitron/response.hpp>

namespace waitron::test {

// An empty, complete request body.
class NoBody final : public BodyReader {
 public:
  std::size_t read(char*, std::size_t) override { return 0; }
  std::uint64_t remaining() const override { return 0; }
  std::uint64_t size() const override { return 0; }
  std::uint64_t available() const override { return 0; }
  bool complete() const override { return true; }
  std::size_t read_at(std::uint64_t, char*, std::size_t) const override { return 0; }
  std::optional<std::string_view> contiguous() const override { return std::string_view(); }
  std::shared_ptr<BodyReader> share() const override { return std::make_shared<NoBody>(); }
};

// GET / from 127.0.0.1:4000 with the given fields (none by default), without body or
// environ.
class StubRequest final : public Request {
 public:
  explicit StubRequest(std::vector<Header> fields = {}) : fields_(std::move(fields)) {}
  std::string_view method() const override { return "GET"; }
  std::string_view target() const override { return "/"; }
  std::string_view path() const override { return "/"; }
  std::string_view query() const override { return ""; }
  int http_minor() const override { return 1; }
  const std::vector<Header>& headers() const override { return fields_; }
  std::optional<std::string_view> header(std::string_view) const override { return std::nullopt; }
  const Environ& environ() const override { return environ_; }
  std::string_view remote_addr() const override { return "127.0.0.1"; }
  std::optional<std::uint16_t> remote_port() const override { return 4000; }
  BodyReader& body() override { return body_; }
  bool client_disconnected() const override { return false; }

 private:
  std::vector<Header> fields_;
  Environ environ_;
  NoBody body_;
};

// Keeps what the App answered.
class RecordingResponse final : public Response {
 public:
  void start(std::string s, std::vector<Header> h) override {
    status = std::move(s);
    headers = std::move(h);
  }
  void write(std::string_view bytes) override { body.append(bytes); }
  void write(std::string&& bytes) override { body.append(bytes); }
  void write_shared(std::string_view bytes, std::shared_ptr<const void>) override {
    body.append(bytes);
  }
  void send_file(int, std::uint64_t, std::uint64_t) override {}
  bool headers_sent() const override { return !status.empty(); }

  std::string status;
  std::vector<Header> headers;
  std::string body;
};

}  // namespace waitron::test
