// Trusted proxy headers for native applications: waitress's proxy_headers.py
// (waitress-behaviour.md section 5), rule for rule the same as the Python package's
// python/waitron/proxy_headers.py, which serves the WSGI applications.
//
// Behind a reverse proxy the peer of every connection is the proxy; the client's address,
// the scheme and the host it asked for travel in the Forwarded and X-Forwarded-* headers
// the proxy adds. When the peer is the trusted proxy, the trusted ones among those headers
// rewrite REMOTE_ADDR, REMOTE_PORT, REMOTE_HOST, wsgi.url_scheme, SERVER_NAME, SERVER_PORT
// and HTTP_HOST. Multi-valued headers are cut down to their right-most trusted_proxy_count
// entries. The headers that are not trusted are removed (clear_untrusted_proxy_headers),
// and a malformed trusted header is answered with waitress's 400 without calling the App.
//
// Two parts:
// - rewrite_proxy_headers(): the pure function. Narrow inputs (the peer address, the
//   scheme, the six header values as the environ holds them, the settings) in, the rewrites
//   and the log lines, or the malformed header, out. No I/O, no shared state; any thread.
//   Unit tests, the fuzz target and the comparison with the Python middleware
//   (tests/python/test_proxy_headers_native.py) call it directly.
// - wrap_proxy_headers(): an App wrapper that applies it to every request before the
//   wrapped App sees it. The server composes it from the Adjustments (src/server).
#pragma once

#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/log.hpp"
#include "waitron/app.hpp"
#include "waitron/request.hpp"

namespace waitron::pipeline {

// The six proxy headers, in the order of their environ keys (the order waitress lists the
// removed ones in its log line).
enum class ProxyHeader : std::uint8_t {
  forwarded,
  x_forwarded_by,
  x_forwarded_for,
  x_forwarded_host,
  x_forwarded_port,
  x_forwarded_proto,
};
inline constexpr std::size_t kProxyHeaderCount = 6;
inline constexpr std::array<ProxyHeader, kProxyHeaderCount> kProxyHeaders = {
    ProxyHeader::forwarded,        ProxyHeader::x_forwarded_by,   ProxyHeader::x_forwarded_for,
    ProxyHeader::x_forwarded_host, ProxyHeader::x_forwarded_port, ProxyHeader::x_forwarded_proto,
};

// "X-Forwarded-For": the field name, as the log lines and the 400 body spell it.
std::string_view field_name(ProxyHeader header) noexcept;
// "HTTP_X_FORWARDED_FOR": the environ key.
std::string_view environ_key(ProxyHeader header) noexcept;
// "x-forwarded-for": the name in trusted_proxy_headers.
std::string_view option_name(ProxyHeader header) noexcept;

// A set of proxy headers, indexed by ProxyHeader.
using ProxyHeaderSet = std::bitset<kProxyHeaderCount>;

// The headers named in a trusted_proxy_headers option (lower-case names; others ignored:
// the config layer has refused them already).
ProxyHeaderSet proxy_header_set(const std::set<std::string>& names);

// What the Adjustments say about proxies, narrowed.
struct ProxySettings {
  // The peer address whose headers are trusted, compared with REMOTE_ADDR as a string
  // ("localhost" for a Unix socket); "*" trusts every peer; unset trusts none.
  std::optional<std::string> trusted_proxy;
  // How many right-most entries of a multi-valued header to keep. 0 keeps all of them,
  // as waitress's list[-0:] does.
  std::uint64_t trusted_proxy_count = 1;
  ProxyHeaderSet trusted_headers;
  bool clear_untrusted = true;
  bool log_untrusted = false;
};

// The request as the proxy-header rules see it.
struct ProxyRequest {
  std::string_view remote_addr;  // REMOTE_ADDR: the peer
  std::string_view url_scheme;   // wsgi.url_scheme before any rewrite
  // Each header's environ value (repeated fields joined with ", "), nullopt when absent.
  std::array<std::optional<std::string_view>, kProxyHeaderCount> headers;
};

// What becomes of one proxy header.
struct HeaderEdit {
  enum class Kind : std::uint8_t { keep, replace, remove };
  Kind kind = Kind::keep;
  std::string value;  // for replace
};

// The rewrites of a request; an unset member leaves its environ key as it was. REMOTE_HOST
// follows REMOTE_ADDR.
struct ProxyRewrite {
  std::optional<std::string> remote_addr;  // REMOTE_ADDR and REMOTE_HOST
  std::optional<std::string> remote_port;  // REMOTE_PORT, as the header gave it
  std::optional<std::string> url_scheme;   // wsgi.url_scheme
  std::optional<std::string> server_name;  // SERVER_NAME
  std::optional<std::string> server_port;  // SERVER_PORT
  std::optional<std::string> http_host;    // HTTP_HOST
  std::array<HeaderEdit, kProxyHeaderCount> headers;

  // False when applying this rewrite would change nothing.
  [[nodiscard]] bool changes_anything() const noexcept;
};

// A trusted header that could not be parsed: the request gets a 400.
struct MalformedProxyHeader {
  std::string header;  // "X-Forwarded-Proto", "Forwarded", or "Forwarded Proto="
  std::string reason;  // "unsupported proto value", "Invalid quoting in value", ...
  std::string value;   // the offending value
};

struct ProxyOutcome {
  ProxyRewrite rewrite;                       // meaningful only without an error
  std::optional<MalformedProxyHeader> error;  // set: answer 400, do not call the App
  std::vector<std::string> warnings;          // log lines (WARNING, logger "waitron"), in order
};

// waitress's translate_proxy_headers(), without the environ: decides, for one request,
// what the application sees. Never throws anything but std::bad_alloc.
ProxyOutcome rewrite_proxy_headers(const ProxySettings& settings, const ProxyRequest& request);

// The environ values rewrite_proxy_headers() reads, as views into `environ`.
ProxyRequest proxy_request_from(const Environ& environ);

// Applies a rewrite to an environ: removed headers erased, replaced ones and the CGI
// variables set.
void apply_rewrite(const ProxyRewrite& rewrite, Environ& environ);

// The body of waitress's 400 for a malformed header:
// "Bad Request\r\n\r\nHeader \"<header>\" malformed.\r\n\r\n(generated by server)".
std::string malformed_body(const MalformedProxyHeader& error);

// RFC 9110 quoted-string decoding, as waitress's undquote(): a value that neither starts nor
// ends with a double quote comes back unchanged; a valid quoted-string loses its quotes and
// its backslash escapes; anything else (a quote at one end only, a bad escape, a control
// character inside the quotes) is nullopt (waitress's ValueError "Invalid quoting in value").
std::optional<std::string> undquote(std::string_view value);

// An App that applies the proxy-header rules, then calls `app` with the request as
// rewritten: environ() rewritten as above; remote_addr() and remote_port() from REMOTE_ADDR
// and REMOTE_PORT (remote_port() is nullopt when a forwarded port is not a number);
// headers() and header() without the removed proxy headers, and with each rewritten one as
// a single field carrying the rewritten value (every other field, Host included, as sent).
// A request the rules leave unchanged reaches `app` as it is. A malformed trusted header is
// answered "400 Bad Request" with Content-Type "text/plain; charset=utf-8" and
// malformed_body(), without Content-Length (chunked on HTTP/1.1, as waitress), and logged.
// `logger` (may be null) must outlive the wrapper. handle() is as thread-safe as `app`.
std::shared_ptr<App> wrap_proxy_headers(std::shared_ptr<App> app, ProxySettings settings,
                                        core::Logger* logger);

}  // namespace waitron::pipeline
