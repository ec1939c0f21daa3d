// waitron::App: a native application, called once per request.
//
// handle() runs on one of the server's application threads (`threads` of them), so several
// requests of different connections run at once: an App must be safe to call
// concurrently. Requests of one connection run one at a time, in order.
//
// An exception escaping handle() before the head was sent becomes a 500 response (with the
// exception's text when expose_tracebacks is on) and an error log line "Exception while
// serving <path>"; after the head was sent, the connection is closed.
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include <waitron/request.hpp>
#include <waitron/response.hpp>

namespace waitron {

class App {
 public:
  virtual ~App() = default;
  virtual void handle(Request& request, Response& response) = 0;

 protected:
  App() = default;
  App(const App&) = default;
  App& operator=(const App&) = default;
};

// An App from a callable: make_app([](Request& req, Response& res) { ... }).
template <typename F>
std::shared_ptr<App> make_app(F f) {
  struct FunctionApp final : App {
    explicit FunctionApp(F fn) : fn_(std::move(fn)) {}
    void handle(Request& request, Response& response) override { fn_(request, response); }
    F fn_;
  };
  return std::make_shared<FunctionApp>(std::move(f));
}

}  // namespace waitron
