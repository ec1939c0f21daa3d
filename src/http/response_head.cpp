#include "http/response_head.hpp"

#include <charconv>
#include <cstring>
#include <new>
#include <vector>

#include "http/rfc9110.hpp"
#include "waitron/response.hpp"

namespace waitron::http {

namespace {

// waitress's header-name normalisation: each '-'-separated part capitalised, the rest
// lower-cased. Most applications already spell names so; those are not copied.
bool is_capitalised(std::string_view name) noexcept {
  bool start = true;
  for (char c : name) {
    if (start && c >= 'a' && c <= 'z') return false;
    if (!start && c >= 'A' && c <= 'Z') return false;
    start = c == '-';
  }
  return true;
}

void capitalise_into(std::string_view name, std::string& out) {
  bool start = true;
  for (char c : name) {
    if (start && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    if (!start && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    out.push_back(c);
    start = c == '-';
  }
}

// std::string_view's order (bytes compared as unsigned), deciding on the first bytes
// without a call to memcmp when they differ, as they mostly do.
bool name_less(std::string_view a, std::string_view b) noexcept {
  if (!a.empty() && !b.empty() && a[0] != b[0]) {
    return static_cast<unsigned char>(a[0]) < static_cast<unsigned char>(b[0]);
  }
  return a < b;
}

// One field line of the head, viewing bytes that outlive frame_response()'s call.
struct Line {
  std::string_view name;
  std::string_view value;
};

// The lines of a head: up to kInline in uninitialised storage on the stack (a response head
// almost always), more on the heap.
class Lines {
 public:
  explicit Lines(std::size_t capacity) {
    if (capacity > kInline) {
      heap_.resize(capacity);
      data_ = heap_.data();
    }
  }
  Lines(const Lines&) = delete;
  Lines& operator=(const Lines&) = delete;
  void push(std::string_view name, std::string_view value) noexcept {
    new (data_ + size_++) Line{name, value};
  }
  // By name, stable (waitress sorts its response headers), by insertion: a head has few.
  void sort() noexcept {
    for (std::size_t i = 1; i < size_; ++i) {
      Line line = data_[i];
      std::size_t j = i;
      for (; j > 0 && name_less(line.name, data_[j - 1].name); --j) data_[j] = data_[j - 1];
      data_[j] = line;
    }
  }
  [[nodiscard]] Line* begin() noexcept { return data_; }
  [[nodiscard]] Line* end() noexcept { return data_ + size_; }

 private:
  static constexpr std::size_t kInline = 16;
  alignas(Line) unsigned char inline_[kInline * sizeof(Line)];
  std::vector<Line> heap_;
  Line* data_ = reinterpret_cast<Line*>(inline_);
  std::size_t size_ = 0;
};

// The fields the framing looks at, told apart by length first.
enum class Role { other, content_length, server, date };
Role role_of(std::string_view name) noexcept {
  switch (name.size()) {
    case 14:
      return iequals(name, "content-length") ? Role::content_length : Role::other;
    case 6:
      return iequals(name, "server") ? Role::server : Role::other;
    case 4:
      return iequals(name, "date") ? Role::date : Role::other;
    default:
      return Role::other;
  }
}

char* put(char* at, std::string_view s) noexcept {
  if (s.empty()) return at;  // an empty view may have no data: memcpy must not see it
  std::memcpy(at, s.data(), s.size());
  return at + s.size();
}

}  // namespace

StatusProblem status_problem(std::string_view status) noexcept {
  if (has_cr_or_lf(status)) return StatusProblem::cr_or_lf;
  return status_code(status) < 0 ? StatusProblem::malformed : StatusProblem::none;
}

FieldProblem field_problem(std::string_view name, std::string_view value) noexcept {
  const bool token = is_token(name);
  const bool field_value = is_field_value(value);
  // A name with CR or LF is no token, a value with one no field value: looked for only then.
  if ((!token || !field_value) && (has_cr_or_lf(name) || has_cr_or_lf(value))) {
    return FieldProblem::cr_or_lf;
  }
  if (!token) return FieldProblem::bad_name;
  if (is_hop_by_hop(name)) return FieldProblem::hop_by_hop;
  return field_value ? FieldProblem::none : FieldProblem::bad_value;
}

void check_response_head(std::string_view status, const std::vector<Field>& fields) {
  switch (status_problem(status)) {
    case StatusProblem::none:
      break;
    case StatusProblem::cr_or_lf:
      throw ResponseError("status may not contain CR or LF");
    case StatusProblem::malformed:
      throw ResponseError("status must be three digits, a space and a reason: \"" +
                          std::string(status) + "\"");
  }
  for (const Field& f : fields) {
    switch (field_problem(f.name, f.value)) {
      case FieldProblem::none:
        break;
      case FieldProblem::cr_or_lf:
        throw ResponseError("carriage return/line feed character present in header \"" + f.name +
                            "\"");
      case FieldProblem::hop_by_hop:
        throw ResponseError(f.name +
                            " is a \"hop-by-hop\" header; it cannot be used by a WSGI application");
      case FieldProblem::bad_name:
        throw ResponseError("invalid header name \"" + f.name + "\"");
      case FieldProblem::bad_value:
        throw ResponseError("invalid value for header \"" + f.name + "\"");
    }
  }
}

int status_code(std::string_view status) noexcept {
  if (status.size() < 4 || status[3] != ' ') return -1;
  int code = 0;
  for (int i = 0; i < 3; ++i) {
    char c = status[static_cast<std::size_t>(i)];
    if (c < '0' || c > '9') return -1;
    code = code * 10 + (c - '0');
  }
  return code >= 100 && code <= 599 ? code : -1;
}

std::error_code frame_response(const ResponseHead& response, const RequestHead& request,
                               const std::optional<std::string>& ident, std::string_view date,
                               Framing& framing, std::string& out) {
  int code = status_code(response.status);
  // A 1xx is an interim response (RFC 9110 §15.2): a client would keep waiting for the final
  // one and pair the next response with this request. waitron refuses it as a final status.
  if (code < 200) return std::make_error_code(std::errc::invalid_argument);

  // The application's fields, at most four of the server's, and a Content-Length value.
  Lines lines(response.fields.size() + 4);
  std::size_t to_capitalise = 0;
  std::optional<std::uint64_t> app_length;
  bool has_server = false;
  bool has_date = false;
  // RFC 9110 §8.6: no Content-Length in a 204 response.
  bool strip_length = code == 204;
  for (const Field& f : response.fields) {
    switch (role_of(f.name)) {
      case Role::content_length:
        app_length = parse_decimal(trim_ows(f.value));
        if (!app_length) return std::make_error_code(std::errc::invalid_argument);
        continue;  // re-added below from the framing decision
      case Role::server:
        has_server = true;
        break;
      case Role::date:
        has_date = true;
        break;
      case Role::other:
        break;
    }
    if (!is_capitalised(f.name)) to_capitalise += f.name.size();
    lines.push(f.name, f.value);
  }
  // Names the application did not spell as waitress sends them (rare): copied capitalised
  // into storage reserved whole first, so that the views into it stay valid.
  std::string capitalised;
  if (to_capitalise != 0) {
    capitalised.reserve(to_capitalise);
    for (Line& line : lines) {
      if (is_capitalised(line.name)) continue;
      std::size_t at = capitalised.size();
      capitalise_into(line.name, capitalised);
      line.name = std::string_view(capitalised).substr(at);
    }
  }

  char length_digits[24];
  auto length_text = [&](std::uint64_t n) {
    auto [end, ec] = std::to_chars(length_digits, length_digits + sizeof length_digits, n);
    return std::string_view(length_digits, static_cast<std::size_t>(end - length_digits));
  };

  // RFC 9112 §6.3: HEAD, 204 and 304 responses end with their head.
  // waitress sends a HEAD response's body if the app writes one; waitron
  // does not (RFC 9110 §9.3.2).
  bool keep_alive = request.keep_alive;
  bool bodiless = request.is_head_method() || code == 204 || code == 304;
  if (bodiless) {
    framing.kind = Framing::Kind::none;
    if (app_length && !strip_length) lines.push("Content-Length", length_text(*app_length));
  } else if (app_length) {
    framing.kind = Framing::Kind::content_length;
    framing.content_length = *app_length;
    lines.push("Content-Length", length_text(*app_length));
  } else if (request.version_minor == 1) {
    framing.kind = Framing::Kind::chunked;
    lines.push("Transfer-Encoding", "chunked");
  } else {
    framing.kind = Framing::Kind::close_delimited;
    keep_alive = false;
  }
  framing.keep_alive = keep_alive;

  if (ident) {
    // waitress: the app's own Server field wins and the server adds Via.
    lines.push(has_server ? "Via" : "Server", *ident);
  }
  if (!has_date) lines.push("Date", date);
  // RFC 9112 §9.3: HTTP/1.0 persistence is announced with keep-alive (waitress
  // spells it "Keep-Alive"); an HTTP/1.1 connection is announced closing.
  if (request.version_minor == 0) {
    lines.push("Connection", keep_alive ? "Keep-Alive" : "close");
  } else if (!keep_alive) {
    lines.push("Connection", "close");
  }
  lines.sort();

  std::size_t size = 9 + response.status.size() + 2 + 2;
  for (const Line& l : lines) size += l.name.size() + 2 + l.value.size() + 2;
  const std::size_t at = out.size();
  out.resize(at + size);
  char* p = out.data() + at;
  p = put(p, request.version_minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
  p = put(p, response.status);
  p = put(p, "\r\n");
  for (const Line& l : lines) {
    p = put(p, l.name);
    p = put(p, ": ");
    p = put(p, l.value);
    p = put(p, "\r\n");
  }
  put(p, "\r\n");
  return {};
}

}  // namespace waitron::http
