// One request's execution on an application thread (waitress task.py): it wraps the parsed
// request as the public waitron::Request, gives the App a waitron::Response that feeds a
// ResponsePipe, runs the App, and turns what happened into response events: the head
// (lazily, on the first non-empty write or at the end), the body, and finish; or a 500
// before the head / an abort after it when the App throws.
//
// Threads: run_task() runs on an application thread, with the request moved in. The
// settings and the App outlive every task (the server joins its threads before it frees
// them).
#pragma once

#include <memory>

#include "core/log.hpp"
#include "http/request_head.hpp"
#include "waitron/app.hpp"
#include "work/cgi_environ.hpp"
#include "work/response_pipe.hpp"

namespace waitron::work {

struct TaskSettings {
  EnvironSettings environ;
  bool expose_tracebacks = false;
  core::Logger* logger = nullptr;  // not owned; may be null
};

// Never throws: every failure becomes a response event and a log line.
void run_task(App& app, std::shared_ptr<http::IncomingRequest> request,
              std::shared_ptr<ResponsePipe> pipe, const TaskSettings& settings, Peer peer) noexcept;

}  // namespace waitron::work
