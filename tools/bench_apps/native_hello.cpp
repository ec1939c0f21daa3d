// F: the native C++ hello world of tools/bench, on waitron's public API only.
//
//   native_hello --listen=127.0.0.1:PORT [--threads=N] [--connection-limit=N]
//
// Every request gets "Hello, World!" (13 bytes, text/plain), as nginx's `return 200` does.
// SIGINT or SIGTERM closes the server gracefully. tools/bench builds it against the
// optimised libwaitron of build-bench/:
//   c++ -std=c++20 -O2 -Iinclude native_hello.cpp -Lbuild-bench -lwaitron -luv
#include <uv.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <waitron/server.hpp>

namespace {

struct Signals {
  uv_signal_t term;
  uv_signal_t intr;
  waitron::Server* server;
};

void on_signal(uv_signal_t* handle, int) {
  auto* s = static_cast<Signals*>(handle->data);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->term), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->intr), nullptr);
  s->server->close();
}

}  // namespace

int main(int argc, char** argv) {
  waitron::Adjustments adj;
  adj.listen = {{"127.0.0.1", "8080"}};
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view flag) -> const char* {
      return arg.substr(0, flag.size()) == flag ? argv[i] + flag.size() : nullptr;
    };
    if (const char* v = value("--listen=")) {
      std::string text = v;
      std::size_t colon = text.rfind(':');
      if (colon == std::string::npos) {
        std::fprintf(stderr, "native_hello: --listen=HOST:PORT\n");
        return 2;
      }
      adj.listen = {{text.substr(0, colon), text.substr(colon + 1)}};
    } else if (const char* t = value("--threads=")) {
      adj.threads = std::atoll(t);
    } else if (const char* c = value("--connection-limit=")) {
      adj.connection_limit = std::atoll(c);
    } else {
      std::fprintf(stderr, "native_hello: unknown argument %s\n", argv[i]);
      return 2;
    }
  }

  static constexpr std::string_view kBody = "Hello, World!";
  auto app = waitron::make_app([](waitron::Request&, waitron::Response& res) {
    res.start("200 OK", {{"Content-Type", "text/plain"}, {"Content-Length", "13"}});
    res.write(kBody);
  });

  uv_loop_t* loop = uv_default_loop();
  waitron::Server server(loop, adj, app);
  server.start();
  std::fprintf(stderr, "native_hello: serving on %s with %lld threads\n",
               server.addresses().at(0).url().c_str(), static_cast<long long>(adj.threads));

  Signals signals{};
  signals.server = &server;
  uv_signal_init(loop, &signals.term);
  uv_signal_init(loop, &signals.intr);
  signals.term.data = signals.intr.data = &signals;
  uv_signal_start(&signals.term, on_signal, SIGTERM);
  uv_signal_start(&signals.intr, on_signal, SIGINT);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
