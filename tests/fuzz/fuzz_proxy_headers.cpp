// libFuzzer target: pipeline::rewrite_proxy_headers() and the App wrapper over arbitrary
// proxy headers and settings.
//
// The input layout is in proxy_headers_case.hpp (settings bytes, then the six values).
//
// It checks the rules' contract: a malformed header names one of the trusted headers and is
// logged last; an untrusted peer's request is never rewritten, only stripped; only trusted
// multi-valued headers are replaced, only present ones removed; a forwarded scheme is http or
// https; and the wrapper gives the App the same values the pure function computed.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/proxy_headers.hpp"
#include "proxy_headers_case.hpp"
#include "support/app_doubles.hpp"

namespace {

using namespace waitron;
using namespace waitron::pipeline;

void require(bool ok) {
  if (!ok) std::abort();
}

constexpr std::string_view kPeer = waitron::fuzz::kProxyCasePeer;

class FuzzRequest final : public Request {
 public:
  FuzzRequest(Environ env, std::vector<Header> fields)
      : environ_(std::move(env)), fields_(std::move(fields)) {}
  std::string_view method() const override { return "GET"; }
  std::string_view target() const override { return "/"; }
  std::string_view path() const override { return "/"; }
  std::string_view query() const override { return ""; }
  int http_minor() const override { return 1; }
  const std::vector<Header>& headers() const override { return fields_; }
  std::optional<std::string_view> header(std::string_view) const override { return std::nullopt; }
  const Environ& environ() const override { return environ_; }
  std::string_view remote_addr() const override { return kPeer; }
  std::optional<std::uint16_t> remote_port() const override { return 4000; }
  BodyReader& body() override { return body_; }
  bool client_disconnected() const override { return false; }

 private:
  Environ environ_;
  std::vector<Header> fields_;
  test::NoBody body_;
};

bool is_one_of(std::string_view name, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (n == name) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::optional<waitron::fuzz::ProxyCase> decoded = waitron::fuzz::decode_proxy_case(data, size);
  if (!decoded) return 0;
  const ProxySettings& settings = decoded->settings;
  const Environ& env = decoded->env;
  const std::vector<Header>& fields = decoded->fields;

  const ProxyRequest request = proxy_request_from(env);
  const ProxyOutcome outcome = rewrite_proxy_headers(settings, request);
  const bool peer_trusted = settings.trusted_proxy &&
                            (*settings.trusted_proxy == "*" || *settings.trusted_proxy == kPeer);

  if (outcome.error) {
    require(peer_trusted);
    require(is_one_of(outcome.error->header,
                      {"Forwarded", "Forwarded Proto=", "X-Forwarded-For", "X-Forwarded-Host",
                       "X-Forwarded-Proto", "X-Forwarded-Port"}));
    require(!outcome.warnings.empty());
    require(outcome.warnings.back().rfind("Malformed proxy header \"", 0) == 0);
    require(malformed_body(*outcome.error).find(outcome.error->header) != std::string::npos);
  } else {
    const ProxyRewrite& rw = outcome.rewrite;
    if (!peer_trusted) {
      require(!rw.remote_addr && !rw.remote_port && !rw.url_scheme && !rw.server_name &&
              !rw.server_port && !rw.http_host);
    }
    if (rw.url_scheme) require(*rw.url_scheme == "http" || *rw.url_scheme == "https");
    if (rw.remote_port) require(rw.remote_addr.has_value());
    for (ProxyHeader h : kProxyHeaders) {
      auto i = static_cast<std::size_t>(h);
      const HeaderEdit& edit = rw.headers[i];
      if (edit.kind == HeaderEdit::Kind::remove) {
        require(settings.clear_untrusted && request.headers[i].has_value());
      }
      if (edit.kind == HeaderEdit::Kind::replace) {
        require(peer_trusted && settings.trusted_headers.test(i));
        require(h == ProxyHeader::forwarded || h == ProxyHeader::x_forwarded_for ||
                h == ProxyHeader::x_forwarded_host);
        // The kept entries are the right-most trusted_proxy_count ones.
        auto commas = [](std::string_view v) { return std::count(v.begin(), v.end(), ','); };
        require(commas(edit.value) <= commas(*request.headers[i]));
        require(settings.trusted_proxy_count == 0 ||
                static_cast<std::uint64_t>(commas(edit.value)) < settings.trusted_proxy_count);
      }
    }
    if (!settings.clear_untrusted && !peer_trusted) require(!rw.changes_anything());
    Environ rewritten = env;
    apply_rewrite(rw, rewritten);
    require(rewritten.at("REMOTE_HOST") == rewritten.at("REMOTE_ADDR"));
  }

  // The wrapper: the App sees what the pure function computed, or the 400 goes out.
  bool called = false;
  Environ seen;
  std::size_t seen_fields = 0;
  auto app = wrap_proxy_headers(make_app([&](Request& req, Response&) {
                                  called = true;
                                  seen = req.environ();
                                  seen_fields = req.headers().size();
                                  require(req.remote_addr() == seen.at("REMOTE_ADDR"));
                                }),
                                settings, nullptr);
  FuzzRequest fuzz_request(env, fields);
  test::RecordingResponse response;
  app->handle(fuzz_request, response);
  require(called == !outcome.error);
  if (outcome.error) {
    require(response.status == "400 Bad Request");
  } else {
    Environ expected = env;
    apply_rewrite(outcome.rewrite, expected);
    require(seen == expected);
    require(seen_fields <= fields.size());
  }
  return 0;
}
