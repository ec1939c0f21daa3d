// Test support: drives an http::Connection the way the network layer will,
// with a fake application that answers every request "200 OK" with
// "Content-Length: 2" and the body "ok", and records what it saw.
#pragma once

#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "http/connection.hpp"

namespace waitron::test {

struct FixedDate final : http::DateSource {
  std::string_view http_date() override { return "Sun, 06 Nov 1994 08:49:37 GMT"; }
};

struct SeenRequest {
  http::RequestHead head;
  std::string body;
};

// Reads every byte of a body buffer.
inline std::string read_all(const core::Buffer& b) {
  std::string out(static_cast<std::size_t>(b.size()), '\0');
  std::size_t copied = 0;
  if (b.peek(0, std::span<char>(out.data(), out.size()), copied) || copied != out.size()) {
    return "<unreadable body>";
  }
  return out;
}

// Takes the connection's output and reads its bytes, file regions included.
inline std::string flatten(http::Connection& conn) {
  std::string out;
  conn.drain_output([&](http::OutputChunk&& c) {
    if (auto* s = std::get_if<std::string>(&c)) {
      out += *s;
    } else if (auto* b = std::get_if<http::SharedBytes>(&c)) {
      out += b->bytes;
    } else {
      auto& r = std::get<core::FileRegion>(c);
      std::string part(static_cast<std::size_t>(r.length()), '\0');
      std::size_t copied = 0;
      if (!r.read(0, std::span<char>(part.data(), part.size()), copied)) part.resize(copied);
      out += part;
    }
  });
  return out;
}

class ConnectionDriver {
 public:
  explicit ConnectionDriver(http::ConnectionSettings settings)
      : conn_(std::move(settings), date_) {}

  // Feeds bytes, then serves every request that became ready.
  void send(std::string_view bytes) {
    conn_.receive(bytes);
    serve();
  }
  // Feeds bytes as the channel reads a socket: into the body's room when the connection
  // lends one (as much as fits, the rest in later "reads"), else through receive().
  void send_in_place(std::string_view bytes) {
    while (!bytes.empty()) {
      std::span<char> room = conn_.receive_room(bytes.size());
      if (room.empty()) {
        send(bytes);
        return;
      }
      std::memcpy(room.data(), bytes.data(), room.size());
      conn_.received_in_place(room.size());
      bytes.remove_prefix(room.size());
      serve();
    }
  }
  void send_eof() {
    conn_.receive_eof();
    serve();
  }

  http::Connection& connection() { return conn_; }
  std::vector<SeenRequest>& requests() { return seen_; }
  // Everything the connection wrote so far.
  const std::string& output() {
    wire_ += flatten(conn_);
    return wire_;
  }

 private:
  void serve() {
    while (conn_.has_request()) {
      auto req = conn_.take_request();
      seen_.push_back(SeenRequest{req->head, read_all(req->body)});
      http::ResponseHead head{"200 OK", {{"Content-Length", "2"}}};
      if (conn_.start_response(head)) break;
      conn_.write_body(std::string_view("ok"));
      conn_.finish_response();
    }
  }

  FixedDate date_;
  http::Connection conn_;
  std::vector<SeenRequest> seen_;
  std::string wire_;
};

}  // namespace waitron::test
