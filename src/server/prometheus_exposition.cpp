// ServerStats as Prometheus text: see prometheus_exposition.hpp.
#include "server/prometheus_exposition.hpp"

#include <cstdint>

namespace waitron::server {

namespace {

struct Metric {
  std::string_view name;
  std::string_view type;  // "gauge" or "counter"
  std::string_view help;
  std::uint64_t ServerStats::*field;
};

constexpr Metric kMetrics[] = {
    {"waitron_connections_open", "gauge", "Client connections open now.",
     &ServerStats::connections_open},
    {"waitron_connections_accepted_total", "counter", "Client connections accepted.",
     &ServerStats::connections_accepted},
    {"waitron_requests_in_flight", "gauge",
     "Requests handed to the application and not answered yet.", &ServerStats::requests_in_flight},
    {"waitron_requests_served_total", "counter", "Requests the application answered.",
     &ServerStats::requests_served},
    {"waitron_queue_depth", "gauge", "Requests waiting for an application thread.",
     &ServerStats::queue_depth},
    {"waitron_busy_threads", "gauge", "Application threads running a request.",
     &ServerStats::busy_threads},
    {"waitron_received_bytes_total", "counter",
     "Bytes read from client connections (heads and bodies).", &ServerStats::bytes_received},
    {"waitron_sent_bytes_total", "counter",
     "Bytes written to client connections (heads and bodies).", &ServerStats::bytes_sent},
    {"waitron_access_log_lines_total", "counter", "Access log lines written.",
     &ServerStats::access_log_lines},
    {"waitron_access_log_dropped_total", "counter",
     "Access log lines dropped (queue full or write failed).", &ServerStats::access_log_dropped},
};

}  // namespace

std::string prometheus_exposition(const ServerStats& stats) {
  std::string out;
  out.reserve(2048);
  for (const Metric& m : kMetrics) {
    out.append("# HELP ").append(m.name).append(" ").append(m.help).append("\n");
    out.append("# TYPE ").append(m.name).append(" ").append(m.type).append("\n");
    out.append(m.name).append(" ").append(std::to_string(stats.*m.field)).append("\n");
  }
  return out;
}

}  // namespace waitron::server
