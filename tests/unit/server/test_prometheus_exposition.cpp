// The live status as Prometheus text, and the status listener's routing.
#include <doctest/doctest.h>

#include <set>
#include <sstream>
#include <string>

#include "server/prometheus_exposition.hpp"
#include "server/status_endpoint.hpp"

using namespace waitron;

namespace {

ServerStats numbered() {
  ServerStats s;
  s.connections_open = 1;
  s.connections_accepted = 2;
  s.requests_in_flight = 3;
  s.requests_served = 4;
  s.queue_depth = 5;
  s.busy_threads = 6;
  s.bytes_received = 7;
  s.bytes_sent = 8;
  s.access_log_lines = 9;
  s.access_log_dropped = 10;
  return s;
}

}  // namespace

TEST_CASE("every counter has HELP, TYPE and one sample, in the exposition format") {
  std::string text = server::prometheus_exposition(numbered());
  const std::pair<const char*, const char*> expected[] = {
      {"waitron_connections_open", "gauge 1"},
      {"waitron_connections_accepted_total", "counter 2"},
      {"waitron_requests_in_flight", "gauge 3"},
      {"waitron_requests_served_total", "counter 4"},
      {"waitron_queue_depth", "gauge 5"},
      {"waitron_busy_threads", "gauge 6"},
      {"waitron_received_bytes_total", "counter 7"},
      {"waitron_sent_bytes_total", "counter 8"},
      {"waitron_access_log_lines_total", "counter 9"},
      {"waitron_access_log_dropped_total", "counter 10"},
  };
  for (auto [name, type_value] : expected) {
    CAPTURE(name);
    std::string type(type_value);
    std::string kind = type.substr(0, type.find(' '));
    std::string value = type.substr(type.find(' ') + 1);
    std::string n(name);
    CHECK(text.find("# HELP " + n + " ") != std::string::npos);
    CHECK(text.find("# TYPE " + n + " " + kind + "\n") != std::string::npos);
    CHECK(text.find("\n" + n + " " + value + "\n") != std::string::npos);
  }
  // Line grammar: comments or "name value"; every name once; ends with a newline.
  std::istringstream lines(text);
  std::string line;
  std::set<std::string> samples;
  int count = 0;
  while (std::getline(lines, line)) {
    ++count;
    if (line.rfind("# ", 0) == 0) continue;
    auto space = line.find(' ');
    REQUIRE(space != std::string::npos);
    CHECK(line.find(' ', space + 1) == std::string::npos);
    CHECK(samples.insert(line.substr(0, space)).second);
  }
  CHECK(samples.size() == std::size(expected));
  CHECK(count == 3 * static_cast<int>(std::size(expected)));
  CHECK(text.back() == '\n');
}

TEST_CASE("status routing: /metrics for GET and HEAD, 404 elsewhere, 405 for other methods") {
  ServerStats s = numbered();
  server::StatusReply ok = server::status_reply("GET", "/metrics", s);
  CHECK(ok.status == "200 OK");
  CHECK(ok.body == server::prometheus_exposition(s));
  CHECK(ok.fields.at(0).value == std::string(server::kPrometheusContentType));
  CHECK(ok.fields.at(1).value == std::to_string(ok.body.size()));
  CHECK(server::status_reply("HEAD", "/metrics?x=1", s).status == "200 OK");
  CHECK(server::status_reply("GET", "/", s).status == "404 Not Found");
  CHECK(server::status_reply("GET", "/metrics/x", s).status == "404 Not Found");
  server::StatusReply post = server::status_reply("POST", "/metrics", s);
  CHECK(post.status == "405 Method Not Allowed");
  CHECK(post.fields.back().name == "Allow");
  CHECK(post.fields.back().value == "GET, HEAD");
  CHECK(server::status_reply("DELETE", "/nope", s).status == "404 Not Found");
}
