// One input of the proxy_headers fuzz corpus, decoded: the settings, the environ and the
// fields of a request. Shared by the fuzz target (fuzz_proxy_headers.cpp) and the dumper that
// checks the corpus against the Python middleware (tests/python/dump_proxy_cases.cpp).
//
// Layout: byte 0 holds the trusted headers (bits 0-5, in ProxyHeader order), clear (bit 6)
// and log (bit 7); byte 1 the trusted_proxy_count (bits 0-2), who is trusted (bits 3-4:
// nobody, "*", the peer itself, another address) and the scheme (bits 5-6: http, https, ftp,
// http); byte 2 which of the six headers are present (bits 0-5). The rest is split at '\n'
// into the six values in ProxyHeader order (CR, LF and NUL never reach the rules: the HTTP
// parser refuses them in a field value, so '\n' is free as a separator).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/proxy_headers.hpp"

namespace waitron::fuzz {

inline constexpr std::string_view kProxyCasePeer = "10.0.0.2";

struct ProxyCase {
  pipeline::ProxySettings settings;
  Environ env;
  std::vector<Header> fields;
};

// nullopt for an input shorter than its three settings bytes.
inline std::optional<ProxyCase> decode_proxy_case(const std::uint8_t* data, std::size_t size) {
  using pipeline::kProxyHeaderCount;
  if (size < 3) return std::nullopt;
  ProxyCase c;
  c.settings.trusted_headers = pipeline::ProxyHeaderSet(data[0] & 0x3fu);
  c.settings.clear_untrusted = (data[0] & 0x40u) != 0;
  c.settings.log_untrusted = (data[0] & 0x80u) != 0;
  c.settings.trusted_proxy_count = data[1] & 7u;
  switch ((data[1] >> 3) & 3u) {
    case 0:
      break;
    case 1:
      c.settings.trusted_proxy = "*";
      break;
    case 2:
      c.settings.trusted_proxy = std::string(kProxyCasePeer);
      break;
    default:
      c.settings.trusted_proxy = "10.0.0.3";
      break;
  }
  static constexpr std::array<std::string_view, 4> kSchemes = {"http", "https", "ftp", "http"};
  std::string_view scheme = kSchemes[(data[1] >> 5) & 3u];
  const unsigned present = data[2] & 0x3fu;

  std::string_view rest(reinterpret_cast<const char*>(data + 3), size - 3);
  std::array<std::string, kProxyHeaderCount> values;
  for (std::size_t i = 0; i < kProxyHeaderCount; ++i) {
    std::size_t nl = rest.find('\n');
    values[i] = std::string(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }

  c.env = {{"REMOTE_ADDR", std::string(kProxyCasePeer)},
           {"REMOTE_HOST", std::string(kProxyCasePeer)},
           {"REMOTE_PORT", "4000"},
           {"SERVER_NAME", "backend"},
           {"SERVER_PORT", "8080"},
           {"HTTP_HOST", "backend:8080"},
           {"wsgi.url_scheme", std::string(scheme)}};
  c.fields = {{"Host", "backend:8080"}};
  for (pipeline::ProxyHeader h : pipeline::kProxyHeaders) {
    auto i = static_cast<std::size_t>(h);
    if (!(present & (1u << i))) continue;
    c.env[std::string(pipeline::environ_key(h))] = values[i];
    c.fields.push_back(Header{std::string(pipeline::field_name(h)), values[i]});
  }
  return c;
}

}  // namespace waitron::fuzz
