// Test support: splits the bytes a connection wrote into responses (status
// line, fields, body by Content-Length or chunked framing), the way a client
// would read them.
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace waitron::test {

struct ParsedResponse {
  std::string status_line;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;
  bool complete = false;

  [[nodiscard]] int status() const {
    return status_line.size() >= 12 ? std::atoi(status_line.substr(9, 3).c_str()) : -1;
  }
  [[nodiscard]] const std::string* field(std::string_view name) const {
    for (auto& f : fields) {
      if (f.first == name) return &f.second;
    }
    return nullptr;
  }
};

// Reads responses until the bytes run out. A response without framing fields
// reads to the end (close-delimited), unless it is a 1xx, 204 or 304.
// answers_head[i] tells that the i-th final (non-1xx) response answers a HEAD
// request, so it has no body whatever its Content-Length says.
inline std::vector<ParsedResponse> read_responses(std::string_view wire,
                                                  const std::vector<bool>& answers_head = {}) {
  std::vector<ParsedResponse> out;
  std::size_t finals = 0;
  while (!wire.empty()) {
    ParsedResponse r;
    std::size_t end = wire.find("\r\n\r\n");
    if (end == std::string_view::npos) break;
    std::string_view head = wire.substr(0, end + 2);
    wire.remove_prefix(end + 4);
    std::size_t eol = head.find("\r\n");
    r.status_line = std::string(head.substr(0, eol));
    head.remove_prefix(eol + 2);
    while (!head.empty()) {
      eol = head.find("\r\n");
      std::string_view line = head.substr(0, eol);
      std::size_t colon = line.find(": ");
      r.fields.emplace_back(std::string(line.substr(0, colon)),
                            std::string(line.substr(colon + 2)));
      head.remove_prefix(eol + 2);
    }
    int code = r.status();
    const std::string* cl = r.field("Content-Length");
    const std::string* te = r.field("Transfer-Encoding");
    bool head_only = code >= 200 && finals < answers_head.size() && answers_head[finals];
    if (code >= 200) ++finals;
    if (head_only || code < 200 || code == 204 || code == 304) {
      r.complete = true;
    } else if (cl) {
      std::size_t n = std::strtoull(cl->c_str(), nullptr, 10);
      r.complete = wire.size() >= n;
      r.body = std::string(wire.substr(0, n));
      wire.remove_prefix(std::min(n, wire.size()));
    } else if (te) {
      for (;;) {
        std::size_t line_end = wire.find("\r\n");
        if (line_end == std::string_view::npos) break;
        std::size_t n = std::strtoull(std::string(wire.substr(0, line_end)).c_str(), nullptr, 16);
        wire.remove_prefix(line_end + 2);
        if (n == 0) {
          r.complete = wire.substr(0, 2) == "\r\n";
          wire.remove_prefix(std::min<std::size_t>(2, wire.size()));
          break;
        }
        r.body += std::string(wire.substr(0, n));
        wire.remove_prefix(std::min(n + 2, wire.size()));
      }
    } else {
      r.body = std::string(wire);
      r.complete = true;
      wire = {};
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace waitron::test
