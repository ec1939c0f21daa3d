// waitron-dump-cases: prints the unit tests' request-case table (tests/unit/http/
// request_cases.hpp) as JSON on stdout, so that test_hostile_corpus.py replays the same
// cases over real sockets instead of keeping a second copy of them.
//
// One object per case, in table order:
//
//   {"name": "...", "input": "<base64 of every byte the client sends>",
//    "error_status": 0, "requests": [["GET", "/", 1, "<body>"], ...],
//    "open_after": true, "continue_sent": false, "eof_after": false,
//    "fields": [["Name", "value"], ...]}
//
// Text other than the input (methods, targets, bodies, field names and values) is written
// as JSON strings whose code points are the bytes (latin-1): "\u00e9" is the byte 0xE9, so
// Python gets the bytes back with .encode("latin-1").
#include <cstdio>
#include <string>
#include <string_view>

#include "http/request_cases.hpp"

namespace {

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16 |
                 static_cast<unsigned char>(in[i + 1]) << 8 | static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += kAlphabet[v & 63];
  }
  if (std::size_t rest = in.size() - i; rest > 0) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += rest == 2 ? kAlphabet[v >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

// A JSON string whose code points are the bytes of `in`.
std::string latin1_json(std::string_view in) {
  std::string out = "\"";
  for (char ch : in) {
    auto b = static_cast<unsigned char>(ch);
    if (b == '"' || b == '\\') {
      out += '\\';
      out += ch;
    } else if (b >= 0x20 && b < 0x7f) {
      out += ch;
    } else {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", b);
      out += esc;
    }
  }
  return out + "\"";
}

const char* boolean(bool b) {
  return b ? "true" : "false";
}

}  // namespace

int main() {
  std::string out = "[\n";
  bool first = true;
  for (const auto& c : waitron::test::request_cases()) {
    if (!first) out += ",\n";
    first = false;
    out += "{\"name\": " + latin1_json(c.name) + ", \"input\": \"" + base64(c.input) +
           "\", \"error_status\": " + std::to_string(c.error_status) + ", \"requests\": [";
    for (std::size_t i = 0; i < c.requests.size(); ++i) {
      const auto& r = c.requests[i];
      out += (i ? ", [" : "[") + latin1_json(r.method) + ", " + latin1_json(r.target) + ", " +
             std::to_string(r.minor) + ", " + latin1_json(r.body) + "]";
    }
    out += std::string("], \"open_after\": ") + boolean(c.open_after) +
           ", \"continue_sent\": " + boolean(c.continue_sent) +
           ", \"eof_after\": " + boolean(c.eof_after) + ", \"fields\": [";
    for (std::size_t i = 0; i < c.fields.size(); ++i) {
      out += (i ? ", [" : "[") + latin1_json(c.fields[i].first) + ", " +
             latin1_json(c.fields[i].second) + "]";
    }
    out += "]}";
  }
  out += "\n]\n";
  return std::fwrite(out.data(), 1, out.size(), stdout) == out.size() && std::fflush(stdout) == 0
             ? 0
             : 1;
}
