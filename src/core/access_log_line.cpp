// Access-log line formats: see access_log_line.hpp.
#include "core/access_log_line.hpp"

#include <ctime>

namespace waitron::core {

namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void append_digits(std::string& out, long value, int width) {
  char buf[24];
  int n = 0;
  unsigned long v = value < 0 ? 0UL : static_cast<unsigned long>(value);
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0 && n < 20);
  for (int i = n; i < width; ++i) out.push_back('0');
  while (n > 0) out.push_back(buf[--n]);
}

// The local time of `time` with its offset east of UTC in seconds.
struct LocalTime {
  std::tm tm{};
  long offset = 0;
  long micros = 0;
};

LocalTime local_time(std::chrono::system_clock::time_point time) {
  LocalTime out;
  auto since = time.time_since_epoch();
  auto seconds = std::chrono::floor<std::chrono::seconds>(since);
  out.micros = static_cast<long>(
      std::chrono::duration_cast<std::chrono::microseconds>(since - seconds).count());
  std::time_t t = static_cast<std::time_t>(seconds.count());
  if (!localtime_r(&t, &out.tm)) gmtime_r(&t, &out.tm);
  out.offset = out.tm.tm_gmtoff;
  return out;
}

// "+0100" (combined) or "+01:00" (RFC 3339).
void append_offset(std::string& out, long offset, bool colon) {
  out.push_back(offset < 0 ? '-' : '+');
  long minutes = (offset < 0 ? -offset : offset) / 60;
  append_digits(out, minutes / 60, 2);
  if (colon) out.push_back(':');
  append_digits(out, minutes % 60, 2);
}

// [21/Nov/2026:13:48:48 +0000]
void append_clf_time(std::string& out, const LocalTime& lt) {
  out.push_back('[');
  append_digits(out, lt.tm.tm_mday, 2);
  out.push_back('/');
  out.append(kMonths[lt.tm.tm_mon >= 0 && lt.tm.tm_mon < 12 ? lt.tm.tm_mon : 0]);
  out.push_back('/');
  append_digits(out, lt.tm.tm_year + 1900L, 4);
  out.push_back(':');
  append_digits(out, lt.tm.tm_hour, 2);
  out.push_back(':');
  append_digits(out, lt.tm.tm_min, 2);
  out.push_back(':');
  append_digits(out, lt.tm.tm_sec, 2);
  out.push_back(' ');
  append_offset(out, lt.offset, false);
  out.push_back(']');
}

// 2026-11-21T13:48:48.123456+00:00
void append_iso_time(std::string& out, const LocalTime& lt) {
  append_digits(out, lt.tm.tm_year + 1900L, 4);
  out.push_back('-');
  append_digits(out, lt.tm.tm_mon + 1L, 2);
  out.push_back('-');
  append_digits(out, lt.tm.tm_mday, 2);
  out.push_back('T');
  append_digits(out, lt.tm.tm_hour, 2);
  out.push_back(':');
  append_digits(out, lt.tm.tm_min, 2);
  out.push_back(':');
  append_digits(out, lt.tm.tm_sec, 2);
  out.push_back('.');
  append_digits(out, lt.micros, 6);
  append_offset(out, lt.offset, true);
}

void append_quoted(std::string& out, std::string_view value, bool absent) {
  out.push_back('"');
  if (absent || value.empty()) {
    out.push_back('-');
  } else {
    append_combined_escaped(value, out);
  }
  out.push_back('"');
}

void append_json_string(std::string& out, std::string_view key, std::string_view value, bool null) {
  out.push_back('"');
  out.append(key);
  out.append("\":");
  if (null) {
    out.append("null");
    return;
  }
  out.push_back('"');
  append_json_escaped(value, out);
  out.push_back('"');
}

void append_json_number(std::string& out, std::string_view key, std::uint64_t value) {
  out.push_back('"');
  out.append(key);
  out.append("\":");
  out.append(std::to_string(value));
}

void append_combined(const AccessRecord& r, std::string& out) {
  out.append(r.remote_addr.empty() ? std::string_view("-") : std::string_view(r.remote_addr));
  out.append(" - - ");
  append_clf_time(out, local_time(r.time));
  out.push_back(' ');
  append_quoted(out, r.request_line, false);
  out.push_back(' ');
  append_digits(out, r.status, 3);
  out.push_back(' ');
  out.append(std::to_string(r.body_bytes));
  out.push_back(' ');
  append_quoted(out, r.referer.value_or(""), !r.referer);
  out.push_back(' ');
  append_quoted(out, r.user_agent.value_or(""), !r.user_agent);
  out.push_back(' ');
  out.append(std::to_string(r.duration_us));
  out.push_back(' ');
  append_quoted(out, r.forwarded_for.value_or(""), !r.forwarded_for);
  out.push_back('\n');
}

void append_json(const AccessRecord& r, std::string& out) {
  std::string time;
  append_iso_time(time, local_time(r.time));
  out.push_back('{');
  append_json_string(out, "time", time, false);
  out.push_back(',');
  append_json_string(out, "remote_addr", r.remote_addr, false);
  out.push_back(',');
  append_json_string(out, "request", r.request_line, false);
  out.push_back(',');
  bool parsed = !r.method.empty();
  append_json_string(out, "method", r.method, !parsed);
  out.push_back(',');
  append_json_string(out, "target", r.target, !parsed);
  out.push_back(',');
  append_json_string(out, "protocol", r.protocol, !parsed);
  out.push_back(',');
  append_json_number(out, "status", static_cast<std::uint64_t>(r.status < 0 ? 0 : r.status));
  out.push_back(',');
  append_json_number(out, "bytes", r.body_bytes);
  out.push_back(',');
  append_json_number(out, "duration_us", r.duration_us);
  out.push_back(',');
  append_json_string(out, "referer", r.referer.value_or(""), !r.referer);
  out.push_back(',');
  append_json_string(out, "user_agent", r.user_agent.value_or(""), !r.user_agent);
  out.push_back(',');
  append_json_string(out, "x_forwarded_for", r.forwarded_for.value_or(""), !r.forwarded_for);
  out.append("}\n");
}

}  // namespace

void append_combined_escaped(std::string_view value, std::string& out) {
  for (char c : value) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x7f || c == '"' || c == '\\') {
      out.append("\\x");
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xf]);
    } else {
      out.push_back(c);
    }
  }
}

void append_json_escaped(std::string_view value, std::string& out) {
  for (char c : value) {
    auto b = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out.append("\\\"");
        continue;
      case '\\':
        out.append("\\\\");
        continue;
      case '\n':
        out.append("\\n");
        continue;
      case '\r':
        out.append("\\r");
        continue;
      case '\t':
        out.append("\\t");
        continue;
      default:
        break;
    }
    if (b < 0x20 || b >= 0x7f) {
      out.append("\\u00");
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xf]);
    } else {
      out.push_back(c);
    }
  }
}

void append_access_line(AccessLogFormat format, const AccessRecord& record, std::string& out) {
  if (format == AccessLogFormat::json) {
    append_json(record, out);
  } else {
    append_combined(record, out);
  }
}

}  // namespace waitron::core
