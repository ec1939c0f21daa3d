#include "http/response_head.hpp"

#include <algorithm>

#include "http/rfc9110.hpp"

namespace waitron::http {

namespace {

// waitress's header-name normalisation: each '-'-separated part capitalised,
// the rest lower-cased.
std::string capitalise(std::string_view name) {
  std::string out(name);
  bool start = true;
  for (char& c : out) {
    if (start && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    if (!start && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    start = c == '-';
  }
  return out;
}

}  // namespace

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

  std::vector<Field> fields;
  fields.reserve(response.fields.size() + 5);
  std::optional<std::uint64_t> app_length;
  bool has_server = false;
  bool has_date = false;
  // RFC 9110 §8.6: no Content-Length in a 204 response.
  bool strip_length = code == 204;
  for (const Field& f : response.fields) {
    if (iequals(f.name, "content-length")) {
      app_length = parse_decimal(trim_ows(f.value));
      if (!app_length) return std::make_error_code(std::errc::invalid_argument);
      continue;  // re-added below from the framing decision
    }
    has_server = has_server || iequals(f.name, "server");
    has_date = has_date || iequals(f.name, "date");
    fields.push_back(Field{capitalise(f.name), f.value});
  }

  // RFC 9112 §6.3: HEAD, 204 and 304 responses end with their head.
  // waitress sends a HEAD response's body if the app writes one; waitron
  // does not (RFC 9110 §9.3.2).
  bool keep_alive = request.keep_alive;
  bool bodiless = request.is_head_method() || code == 204 || code == 304;
  if (bodiless) {
    framing.kind = Framing::Kind::none;
    if (app_length && !strip_length) {
      fields.push_back(Field{"Content-Length", std::to_string(*app_length)});
    }
  } else if (app_length) {
    framing.kind = Framing::Kind::content_length;
    framing.content_length = *app_length;
    fields.push_back(Field{"Content-Length", std::to_string(*app_length)});
  } else if (request.version_minor == 1) {
    framing.kind = Framing::Kind::chunked;
    fields.push_back(Field{"Transfer-Encoding", "chunked"});
  } else {
    framing.kind = Framing::Kind::close_delimited;
    keep_alive = false;
  }
  framing.keep_alive = keep_alive;

  if (ident) {
    // waitress: the app's own Server field wins and the server adds Via.
    fields.push_back(Field{has_server ? "Via" : "Server", *ident});
  }
  if (!has_date) fields.push_back(Field{"Date", std::string(date)});
  // RFC 9112 §9.3: HTTP/1.0 persistence is announced with keep-alive (waitress
  // spells it "Keep-Alive"); an HTTP/1.1 connection is announced closing.
  if (request.version_minor == 0) {
    fields.push_back(Field{"Connection", keep_alive ? "Keep-Alive" : "close"});
  } else if (!keep_alive) {
    fields.push_back(Field{"Connection", "close"});
  }
  std::stable_sort(fields.begin(), fields.end(),
                   [](const Field& a, const Field& b) { return a.name < b.name; });

  out.append(request.version_minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
  out.append(response.status);
  out.append("\r\n");
  for (const Field& f : fields) {
    out.append(f.name);
    out.append(": ");
    out.append(f.value);
    out.append("\r\n");
  }
  out.append("\r\n");
  return {};
}

}  // namespace waitron::http
