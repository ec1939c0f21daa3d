// The server's counters (waitron::ServerStats) in the Prometheus text exposition format,
// version 0.0.4: one "# HELP", one "# TYPE" and one sample line per metric, every name
// prefixed "waitron_"; counters end in "_total". What the status listener serves at
// GET /metrics.
//
// Pure function; any thread.
#pragma once

#include <string>
#include <string_view>

#include <waitron/server.hpp>

namespace waitron::server {

// The Content-Type of the exposition.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

[[nodiscard]] std::string prometheus_exposition(const ServerStats& stats);

}  // namespace waitron::server
