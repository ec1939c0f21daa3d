// The proxy-header rules (proxy_headers.hpp). Each function below mirrors the function of
// python/waitron/proxy_headers.py with the same name, on bytes instead of latin-1 strings:
// the environ of a WSGI application holds each byte as one code point, so a byte-wise
// mirror of Python's str methods (strip(), lower()) gives the same results for the same
// request.
#include "pipeline/proxy_headers.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include "http/rfc9110.hpp"

namespace waitron::pipeline {

namespace {

constexpr std::array<std::string_view, kProxyHeaderCount> kFieldNames = {
    "Forwarded",        "X-Forwarded-By",   "X-Forwarded-For",
    "X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Proto",
};
constexpr std::array<std::string_view, kProxyHeaderCount> kEnvironKeys = {
    "HTTP_FORWARDED",        "HTTP_X_FORWARDED_BY",   "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PROTO",
};
constexpr std::array<std::string_view, kProxyHeaderCount> kOptionNames = {
    "forwarded",        "x-forwarded-by",   "x-forwarded-for",
    "x-forwarded-host", "x-forwarded-port", "x-forwarded-proto",
};

constexpr std::size_t index(ProxyHeader h) noexcept {
  return static_cast<std::size_t>(h);
}

constexpr std::string_view kInvalidQuoting = "Invalid quoting in value";

// Python's str.isspace() for the code points U+0000..U+00FF.
constexpr bool py_space(unsigned char c) noexcept {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0;
}

// Python's str.strip() without arguments.
std::string_view py_strip(std::string_view s) noexcept {
  while (!s.empty() && py_space(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && py_space(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Python's str.lower() for the code points U+0000..U+00FF: ASCII and the Latin-1 capitals
// (U+00C0..U+00DE except the multiplication sign U+00D7).
std::string py_lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 0xc0 && c <= 0xde && c != 0xd7)) {
      ch = static_cast<char>(c + 0x20);
    }
  }
  return out;
}

bool starts_with(std::string_view s, char c) noexcept {
  return !s.empty() && s.front() == c;
}
bool ends_with(std::string_view s, char c) noexcept {
  return !s.empty() && s.back() == c;
}
bool contains(std::string_view s, char c) noexcept {
  return s.find(c) != std::string_view::npos;
}

// Python's value.split(sep): every piece, empty ones included.
std::vector<std::string_view> split(std::string_view value, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    std::size_t at = value.find(sep);
    out.push_back(value.substr(0, at));
    if (at == std::string_view::npos) return out;
    value.remove_prefix(at + 1);
  }
}

// Python's ", ".join(items[-count:]) (count 0 keeps every item).
template <typename T>
std::size_t window_start(const std::vector<T>& items, std::uint64_t count) noexcept {
  if (count == 0 || count >= items.size()) return 0;
  return items.size() - static_cast<std::size_t>(count);
}

std::string join_window(const std::vector<std::string_view>& items, std::uint64_t count) {
  std::string out;
  const std::size_t start = window_start(items, count);
  for (std::size_t i = start; i < items.size(); ++i) {
    if (i != start) out.append(", ");
    out.append(items[i]);
  }
  return out;
}

// RFC 9110 qdtext and the character after a backslash in a quoted-pair (obs-text included).
constexpr bool is_qdtext(unsigned char c) noexcept {
  return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
         (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}
constexpr bool is_quoted_pair_char(unsigned char c) noexcept {
  return c == '\t' || c == ' ' || (c >= 0x21 && c <= 0x7e) || c >= 0x80;
}

// A parse failure inside this file: the reason, turned into a MalformedProxyHeader by the
// caller that knows the header's name and value (waitress's ValueError).
struct ParseError {
  std::string_view reason;
};

std::string undquote_or_throw(std::string_view value) {
  std::optional<std::string> out = undquote(value);
  if (!out) throw ParseError{kInvalidQuoting};
  return std::move(*out);
}

// The state of the environ while the rules run: the values the rules read back, and what
// they change.
struct Work {
  std::string_view url_scheme;  // wsgi.url_scheme as it stands
  ProxyRewrite rewrite;
  std::vector<std::string> warnings;
};

struct Malformed {
  MalformedProxyHeader error;
};

[[noreturn]] void malformed(std::string_view header, std::string_view reason,
                            std::string_view value) {
  throw Malformed{
      MalformedProxyHeader{std::string(header), std::string(reason), std::string(value)}};
}

struct SplitList {
  std::vector<std::string_view> raw;  // every entry, stripped, as sent
  std::vector<std::string> values;    // every entry, un-quoted
};

// _split_list(): every entry must be well-formed, the untrusted ones too.
SplitList split_list(std::string_view header, std::string_view value) {
  SplitList out;
  for (std::string_view entry : split(value, ',')) out.raw.push_back(py_strip(entry));
  for (std::string_view entry : out.raw) {
    std::optional<std::string> v = undquote(entry);
    if (!v) malformed(header, kInvalidQuoting, value);
    out.values.push_back(std::move(*v));
  }
  return out;
}

// _single_value(): X-Forwarded-Proto and -Port carry one value.
std::string single_value(std::string_view header, std::string_view value) {
  std::optional<std::string> result = undquote(value);
  if (!result) malformed(header, kInvalidQuoting, value);
  if (contains(*result, ',')) {
    malformed(header, "Unspecified behavior for multiple values found in header", value);
  }
  return std::move(*result);
}

// _bracket_bare_ipv6().
std::string bracket_bare_ipv6(std::string hop) {
  if (!contains(hop, '.') && contains(hop, ':') && !ends_with(hop, ']')) return "[" + hop + "]";
  return hop;
}

struct ForwardedElement {
  std::string by, for_, host, proto;
};

// _parse_forwarded_element(): pairs separated by ';', lower-cased whole (values too).
ForwardedElement parse_forwarded_element(std::string_view element,
                                         std::vector<std::string>& warnings) {
  ForwardedElement fields;
  for (std::string_view raw_pair : split(element, ';')) {
    std::string pair = py_lower(raw_pair);
    if (pair.empty()) continue;
    std::size_t equals = pair.find('=');
    if (equals == std::string::npos) throw ParseError{"Invalid forwarded-pair missing \"=\""};
    std::string_view token = std::string_view(pair).substr(0, equals);
    std::string_view value = std::string_view(pair).substr(equals + 1);
    if (py_strip(token) != token) throw ParseError{"Token may not be surrounded by whitespace"};
    if (py_strip(value) != value) throw ParseError{"Value may not be surrounded by whitespace"};
    if (token == "by") {
      fields.by = undquote_or_throw(value);
    } else if (token == "for") {
      fields.for_ = undquote_or_throw(value);
    } else if (token == "host") {
      fields.host = undquote_or_throw(value);
    } else if (token == "proto") {
      fields.proto = undquote_or_throw(value);
    } else {
      warnings.push_back("Unknown Forwarded token: " + std::string(token));
    }
  }
  return fields;
}

struct ForwardedResult {
  std::string client, host, proto;
};

// _parse_forwarded(): the header rewritten to its right-most `count` elements; in them,
// each of for, host and proto from the oldest element that has it.
ForwardedResult parse_forwarded(std::string_view value, std::uint64_t count, Work& work) {
  std::vector<std::string_view> raw;
  for (std::string_view element : split(value, ',')) raw.push_back(py_strip(element));
  std::vector<ForwardedElement> proxies;
  try {
    for (std::string_view element : raw) {
      proxies.push_back(parse_forwarded_element(element, work.warnings));
    }
  } catch (const ParseError& e) {
    malformed("Forwarded", e.reason, value);
  }
  work.rewrite.headers[index(ProxyHeader::forwarded)] = {HeaderEdit::Kind::replace,
                                                         join_window(raw, count)};
  ForwardedResult out;
  for (std::size_t i = proxies.size(); i-- > window_start(proxies, count);) {
    if (!proxies[i].for_.empty()) out.client = proxies[i].for_;
    if (!proxies[i].host.empty()) out.host = proxies[i].host;
    if (!proxies[i].proto.empty()) out.proto = proxies[i].proto;
  }
  return out;
}

std::string_view strip_brackets(std::string_view address) noexcept {
  if (starts_with(address, '[') && ends_with(address, ']')) {
    return address.substr(1, address.size() - 2);
  }
  return address;
}

// _apply_host(): a port inside the host wins; otherwise HTTP_HOST gets ":port" unless the
// port is the default of the scheme in effect. Returns the port in effect.
std::string apply_host(Work& work, const std::string& host, std::string port) {
  if (contains(host, ':') && !ends_with(host, ']')) {
    std::size_t colon = host.rfind(':');
    work.rewrite.server_name = std::string(py_strip(std::string_view(host).substr(0, colon)));
    work.rewrite.http_host = host;
    return host.substr(colon + 1);
  }
  work.rewrite.server_name = host;
  work.rewrite.http_host = host;
  if (!port.empty()) {
    std::optional<std::string_view> default_port;
    if (work.url_scheme == "http") default_port = "80";
    if (work.url_scheme == "https") default_port = "443";
    if (port != default_port) work.rewrite.http_host = host + ":" + port;
  }
  return port;
}

// _apply_client().
void apply_client(Work& work, std::string_view client) {
  if (contains(client, ':') && !ends_with(client, ']')) {
    std::size_t colon = client.rfind(':');
    work.rewrite.remote_addr = std::string(strip_brackets(py_strip(client.substr(0, colon))));
    work.rewrite.remote_port = std::string(py_strip(client.substr(colon + 1)));
  } else {
    work.rewrite.remote_addr = std::string(strip_brackets(py_strip(client)));
  }
}

// parse_proxy_headers(): the rewrites of the trusted headers; returns the untrusted ones.
ProxyHeaderSet parse_proxy_headers(const ProxySettings& settings, const ProxyRequest& request,
                                   Work& work) {
  const ProxyHeaderSet& trusted = settings.trusted_headers;
  const std::uint64_t count = settings.trusted_proxy_count;
  ProxyHeaderSet untrusted;
  untrusted.set();
  std::string client, host, proto, port;
  auto value_of = [&](ProxyHeader h) { return request.headers[index(h)]; };
  auto is_trusted = [&](ProxyHeader h) { return trusted.test(index(h)); };

  for (ProxyHeader h : {ProxyHeader::x_forwarded_for, ProxyHeader::x_forwarded_host}) {
    if (!is_trusted(h) || !value_of(h)) continue;
    SplitList list = split_list(field_name(h), *value_of(h));
    work.rewrite.headers[index(h)] = {HeaderEdit::Kind::replace, join_window(list.raw, count)};
    std::string first = std::move(list.values[window_start(list.values, count)]);
    if (h == ProxyHeader::x_forwarded_for) {
      client = bracket_bare_ipv6(std::move(first));
    } else {
      host = std::move(first);
    }
    untrusted.reset(index(h));
  }
  if (is_trusted(ProxyHeader::x_forwarded_proto)) {
    proto = single_value(field_name(ProxyHeader::x_forwarded_proto),
                         value_of(ProxyHeader::x_forwarded_proto).value_or(""));
    untrusted.reset(index(ProxyHeader::x_forwarded_proto));
  }
  if (is_trusted(ProxyHeader::x_forwarded_port)) {
    port = single_value(field_name(ProxyHeader::x_forwarded_port),
                        value_of(ProxyHeader::x_forwarded_port).value_or(""));
    untrusted.reset(index(ProxyHeader::x_forwarded_port));
  }
  if (is_trusted(ProxyHeader::x_forwarded_by)) {
    // Not used by the server, but a trusted one is left for the application.
    untrusted.reset(index(ProxyHeader::x_forwarded_by));
  }

  bool forwarded = false;
  if (is_trusted(ProxyHeader::forwarded)) {
    // Forwarded excludes the X-Forwarded-* set (the configuration enforces it).
    untrusted.set();
    untrusted.reset(index(ProxyHeader::forwarded));
    std::optional<std::string_view> value = value_of(ProxyHeader::forwarded);
    if (value && !value->empty()) {
      forwarded = true;
      ForwardedResult result = parse_forwarded(*value, count, work);
      client = std::move(result.client);
      host = std::move(result.host);
      proto = std::move(result.proto);
    }
  }

  if (!proto.empty()) {
    proto = py_lower(proto);
    if (proto != "http" && proto != "https") {
      malformed(forwarded ? "Forwarded Proto=" : "X-Forwarded-Proto", "unsupported proto value",
                proto);
    }
    work.rewrite.url_scheme = proto;
    work.url_scheme = *work.rewrite.url_scheme;
    if (port.empty()) port = proto == "http" ? "80" : "443";
  }
  if (!host.empty()) port = apply_host(work, host, std::move(port));
  if (!port.empty()) work.rewrite.server_port = port;
  if (!client.empty()) apply_client(work, client);
  return untrusted;
}

// clear_untrusted_headers(): removes the untrusted headers present; lists them when asked.
void clear_untrusted_headers(const ProxySettings& settings, const ProxyRequest& request,
                             const ProxyHeaderSet& untrusted, Work& work) {
  std::string removed;
  for (ProxyHeader h : kProxyHeaders) {
    if (!untrusted.test(index(h)) || !request.headers[index(h)]) continue;
    work.rewrite.headers[index(h)] = {HeaderEdit::Kind::remove, {}};
    if (!removed.empty()) removed.append(", ");
    removed.append(field_name(h));
  }
  if (settings.log_untrusted && !removed.empty()) {
    work.warnings.push_back("Removed untrusted headers (" + removed +
                            "). Waitron recommends these be removed upstream.");
  }
}

bool peer_is_trusted(const ProxySettings& settings, std::string_view remote_addr) noexcept {
  return settings.trusted_proxy &&
         (*settings.trusted_proxy == "*" || *settings.trusted_proxy == remote_addr);
}

}  // namespace

std::string_view field_name(ProxyHeader header) noexcept {
  return kFieldNames[index(header)];
}
std::string_view environ_key(ProxyHeader header) noexcept {
  return kEnvironKeys[index(header)];
}
std::string_view option_name(ProxyHeader header) noexcept {
  return kOptionNames[index(header)];
}

ProxyHeaderSet proxy_header_set(const std::set<std::string>& names) {
  ProxyHeaderSet out;
  for (ProxyHeader h : kProxyHeaders) {
    if (names.count(std::string(option_name(h)))) out.set(index(h));
  }
  return out;
}

bool ProxyRewrite::changes_anything() const noexcept {
  return remote_addr || remote_port || url_scheme || server_name || server_port || http_host ||
         std::any_of(headers.begin(), headers.end(),
                     [](const HeaderEdit& e) { return e.kind != HeaderEdit::Kind::keep; });
}

std::optional<std::string> undquote(std::string_view value) {
  bool starts = starts_with(value, '"');
  bool ends = ends_with(value, '"');
  if (!starts && !ends) return std::string(value);
  if (!starts || !ends || value.size() < 2) return std::nullopt;
  // The whole value must be DQUOTE *( qdtext / quoted-pair ) DQUOTE; qdtext has no '"' and
  // no '\\', so the first unescaped '"' has to be the last byte.
  std::string out;
  std::size_t i = 1;
  const std::size_t last = value.size() - 1;
  while (i < last) {
    auto c = static_cast<unsigned char>(value[i]);
    if (c == '\\') {
      if (i + 1 >= last || !is_quoted_pair_char(static_cast<unsigned char>(value[i + 1]))) {
        return std::nullopt;
      }
      out.push_back(value[i + 1]);
      i += 2;
    } else if (is_qdtext(c)) {
      out.push_back(value[i]);
      ++i;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

ProxyOutcome rewrite_proxy_headers(const ProxySettings& settings, const ProxyRequest& request) {
  ProxyOutcome out;
  Work work;
  work.url_scheme = request.url_scheme;
  ProxyHeaderSet untrusted;
  untrusted.set();
  if (peer_is_trusted(settings, request.remote_addr)) {
    try {
      untrusted = parse_proxy_headers(settings, request, work);
    } catch (Malformed& m) {
      work.warnings.push_back("Malformed proxy header \"" + m.error.header + "\" from \"" +
                              std::string(request.remote_addr) + "\": " + m.error.reason +
                              " value: " + m.error.value);
      out.error = std::move(m.error);
      out.warnings = std::move(work.warnings);
      return out;
    }
  }
  if (settings.clear_untrusted) clear_untrusted_headers(settings, request, untrusted, work);
  // A replaced header whose value does not change is left alone.
  for (ProxyHeader h : kProxyHeaders) {
    HeaderEdit& edit = work.rewrite.headers[index(h)];
    if (edit.kind == HeaderEdit::Kind::replace && request.headers[index(h)] == edit.value) {
      edit = HeaderEdit{};
    }
  }
  out.rewrite = std::move(work.rewrite);
  out.warnings = std::move(work.warnings);
  return out;
}

ProxyRequest proxy_request_from(const Environ& env) {
  ProxyRequest request;
  auto get = [&](std::string_view key) -> std::optional<std::string_view> {
    if (auto it = env.find(key); it != env.end()) return std::string_view(it->second);
    return std::nullopt;
  };
  request.remote_addr = get("REMOTE_ADDR").value_or("");
  request.url_scheme = get("wsgi.url_scheme").value_or("http");
  for (ProxyHeader h : kProxyHeaders) request.headers[index(h)] = get(environ_key(h));
  return request;
}

void apply_rewrite(const ProxyRewrite& rewrite, Environ& env) {
  for (ProxyHeader h : kProxyHeaders) {
    const HeaderEdit& edit = rewrite.headers[index(h)];
    if (edit.kind == HeaderEdit::Kind::remove) {
      if (auto it = env.find(environ_key(h)); it != env.end()) env.erase(it);
    } else if (edit.kind == HeaderEdit::Kind::replace) {
      env.insert_or_assign(std::string(environ_key(h)), edit.value);
    }
  }
  auto set = [&](const char* key, const std::optional<std::string>& value) {
    if (value) env.insert_or_assign(key, *value);
  };
  set("wsgi.url_scheme", rewrite.url_scheme);
  set("SERVER_NAME", rewrite.server_name);
  set("SERVER_PORT", rewrite.server_port);
  set("HTTP_HOST", rewrite.http_host);
  set("REMOTE_ADDR", rewrite.remote_addr);
  set("REMOTE_HOST", rewrite.remote_addr);
  set("REMOTE_PORT", rewrite.remote_port);
}

std::string malformed_body(const MalformedProxyHeader& error) {
  return "Bad Request\r\n\r\nHeader \"" + error.header +
         "\" malformed.\r\n\r\n(generated by server)";
}

namespace {

std::optional<std::uint16_t> port_number(std::string_view text) noexcept {
  std::uint16_t port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return port;
}

// The proxy header a field is, as the environ sees it: case is ignored and '_' counts as
// '-' ("X_Forwarded_For" becomes HTTP_X_FORWARDED_FOR too), so both the fast path and the
// rewritten field list treat such spellings as the header itself.
std::optional<ProxyHeader> proxy_header_named(std::string_view name) {
  constexpr std::size_t kLongest = 17;  // X-Forwarded-Proto
  // Every request's fields pass here: most are turned away by their length alone
  // (Forwarded 9, X-Forwarded-By 14, -For 15, -Host and -Port 16, -Proto 17).
  if (name.size() != 9 && (name.size() < 14 || name.size() > kLongest)) return std::nullopt;
  // ...and the rest by their first letter: X-Forwarded-* and Forwarded only.
  const char first = static_cast<char>(name[0] | 0x20);
  if (first != 'x' && first != 'f') return std::nullopt;
  char normal[kLongest];
  std::replace_copy(name.begin(), name.end(), normal, '_', '-');
  for (ProxyHeader h : kProxyHeaders) {
    if (http::iequals(std::string_view(normal, name.size()), field_name(h))) return h;
  }
  return std::nullopt;
}

// The request as rewritten: its own environ and fields, the rest borrowed from the original.
class RewrittenRequest final : public Request {
 public:
  RewrittenRequest(Request& original, const ProxyRewrite& rewrite)
      : original_(original), environ_(original.environ()) {
    apply_rewrite(rewrite, environ_);
    if (auto it = environ_.find("REMOTE_ADDR"); it != environ_.end()) remote_addr_ = it->second;
    if (auto it = environ_.find("REMOTE_PORT"); it != environ_.end()) {
      remote_port_ = port_number(it->second);
    }
    std::array<bool, kProxyHeaderCount> placed{};
    for (const Header& field : original.headers()) {
      const std::optional<ProxyHeader> which = proxy_header_named(field.name);
      if (!which) {
        headers_.push_back(field);
        continue;
      }
      const HeaderEdit& edit = rewrite.headers[index(*which)];
      if (edit.kind == HeaderEdit::Kind::keep) {
        headers_.push_back(field);
      } else if (edit.kind == HeaderEdit::Kind::replace && !placed[index(*which)]) {
        headers_.push_back(Header{field.name, edit.value});
        placed[index(*which)] = true;
      }
    }
  }

  std::string_view method() const override { return original_.method(); }
  std::string_view target() const override { return original_.target(); }
  std::string_view path() const override { return original_.path(); }
  std::string_view query() const override { return original_.query(); }
  int http_minor() const override { return original_.http_minor(); }
  const std::vector<Header>& headers() const override { return headers_; }
  std::optional<std::string_view> header(std::string_view name) const override {
    for (const Header& field : headers_) {
      if (http::iequals(field.name, name)) return std::string_view(field.value);
    }
    return std::nullopt;
  }
  const Environ& environ() const override { return environ_; }
  std::string_view remote_addr() const override { return remote_addr_; }
  std::optional<std::uint16_t> remote_port() const override { return remote_port_; }
  BodyReader& body() override { return original_.body(); }
  bool client_disconnected() const override { return original_.client_disconnected(); }

 private:
  Request& original_;
  Environ environ_;
  std::vector<Header> headers_;
  std::string remote_addr_;
  std::optional<std::uint16_t> remote_port_;
};

// True when a field is one of the six headers as the environ would name it (see
// proxy_header_named()): checked on the fields, so a request without any never builds its
// environ (nor, with the server's requests, its header list) here.
bool has_proxy_header(const Request& request) {
  return request.any_header(
      [](std::string_view name, std::string_view) { return proxy_header_named(name).has_value(); });
}

class ProxyHeadersApp final : public App {
 public:
  ProxyHeadersApp(std::shared_ptr<App> app, ProxySettings settings, core::Logger* logger)
      : app_(std::move(app)), settings_(std::move(settings)), logger_(logger) {}

  void handle(Request& request, Response& response) override {
    // Without any of the six headers the rules change nothing and log nothing: the common
    // case skips them.
    if (!has_proxy_header(request)) {
      app_->handle(request, response);
      return;
    }
    ProxyOutcome outcome = rewrite_proxy_headers(settings_, proxy_request_from(request.environ()));
    if (logger_) {
      for (const std::string& line : outcome.warnings) {
        logger_->write(core::LogLevel::warning, "waitron", line);
      }
    }
    if (outcome.error) {
      // With its length, as waitress's error response has it: the connection stays open.
      std::string body = malformed_body(*outcome.error);
      response.start("400 Bad Request", {{"Content-Length", std::to_string(body.size())},
                                         {"Content-Type", "text/plain; charset=utf-8"}});
      response.write(std::move(body));
      return;
    }
    if (!outcome.rewrite.changes_anything()) {
      app_->handle(request, response);
      return;
    }
    RewrittenRequest rewritten(request, outcome.rewrite);
    app_->handle(rewritten, response);
  }

 private:
  std::shared_ptr<App> app_;
  ProxySettings settings_;
  core::Logger* logger_;
};

}  // namespace

std::shared_ptr<App> wrap_proxy_headers(std::shared_ptr<App> app, ProxySettings settings,
                                        core::Logger* logger) {
  return std::make_shared<ProxyHeadersApp>(std::move(app), std::move(settings), logger);
}

}  // namespace waitron::pipeline
