// Prints what pipeline::rewrite_proxy_headers() (the native apps' proxy headers) makes of each
// input of the proxy_headers fuzz corpus, one JSON object per line, for
// test_proxy_headers_native.py to compare with the Python middleware:
//
//   dump_proxy_cases DIR...
//
// Each line holds the input (settings and environ, decoded as the fuzz target decodes it) and
// the outcome: the status, the 400 body, the environ after the rewrite, the log lines. Strings
// are written one code point per byte (latin-1, as a WSGI environ holds them).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/proxy_headers.hpp"
#include "proxy_headers_case.hpp"

namespace {

using namespace waitron;
using namespace waitron::pipeline;

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out.append(buf);
    } else {
      out.push_back(ch);
    }
  }
  return out + "\"";
}

std::string object(const Environ& env) {
  std::string out = "{";
  for (const auto& [key, value] : env) {
    if (out.size() > 1) out.append(", ");
    out.append(quote(key)).append(": ").append(quote(value));
  }
  return out + "}";
}

std::string list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const std::string& item : items) {
    if (out.size() > 1) out.append(", ");
    out.append(quote(item));
  }
  return out + "]";
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t cases = 0;
  for (int i = 1; i < argc; ++i) {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(argv[i])) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
    for (const auto& path : files) {
      std::ifstream f(path, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      auto decoded = fuzz::decode_proxy_case(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                             bytes.size());
      if (!decoded) continue;
      const ProxySettings& s = decoded->settings;
      std::vector<std::string> trusted;
      for (ProxyHeader h : kProxyHeaders) {
        if (s.trusted_headers.test(static_cast<std::size_t>(h))) {
          trusted.emplace_back(option_name(h));
        }
      }
      ProxyOutcome outcome = rewrite_proxy_headers(s, proxy_request_from(decoded->env));
      Environ after = decoded->env;
      if (!outcome.error) apply_rewrite(outcome.rewrite, after);
      std::printf(
          "{\"file\": %s, \"trusted_proxy\": %s, \"trusted_proxy_count\": %llu, "
          "\"trusted_proxy_headers\": %s, \"clear_untrusted\": %s, \"log_untrusted\": %s, "
          "\"environ\": %s, \"status\": %s, \"body\": %s, \"environ_after\": %s, "
          "\"warnings\": %s}\n",
          quote(path.filename().string()).c_str(),
          s.trusted_proxy ? quote(*s.trusted_proxy).c_str() : "null",
          static_cast<unsigned long long>(s.trusted_proxy_count), list(trusted).c_str(),
          s.clear_untrusted ? "true" : "false", s.log_untrusted ? "true" : "false",
          object(decoded->env).c_str(), quote(outcome.error ? "400 Bad Request" : "200 OK").c_str(),
          outcome.error ? quote(malformed_body(*outcome.error)).c_str() : "null",
          outcome.error ? "null" : object(after).c_str(), list(outcome.warnings).c_str());
      ++cases;
    }
  }
  std::fprintf(stderr, "%zu cases\n", cases);
  return cases > 0 ? 0 : 1;
}
