// start_response and the write() callable of PEP 3333, bound to one request's Response.
//
// Rules (waitress-behaviour.md §4.11): status and header names/values must be str
// (AssertionError), without CR or LF (ValueError); hop-by-hop headers are refused
// (AssertionError); a second call needs exc_info, and with exc_info after the head was sent
// the exception is re-raised; write() before start_response is a RuntimeError. Body chunks:
// the head goes out before a chunk's type is checked and a chunk that the Content-Length
// leaves no room for is dropped unchecked (waitress's order, which its functional tests
// rely on); otherwise a chunk must be bytes. While a chunk is handed to the server the GIL
// is released (write() blocks while the client is slow). A vanished client raises
// waitron.ClientDisconnected in the application.
//
// The Python objects made here point at a ResponseState on the application thread's stack;
// the adapter detaches them when the request ends, after which they raise. Threads: the GIL
// is held for everything but the server calls.
#pragma once

#include "python/py_ref.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <waitron/response.hpp>

namespace waitron::python {

struct ResponseState {
  ResponseState(Response& r, bool inline_calls) noexcept : response(r), keep_gil(inline_calls) {}
  Response& response;
  // Inline mode (threads=0): the Response's calls never wait (no watermark on the loop
  // thread), so the GIL is kept across them instead of released and taken back.
  const bool keep_gil;
  bool started = false;    // start_response was called
  bool committed = false;  // status and headers were handed to the Response (moved out)
  std::string status;      // the last status and headers given, until committed
  std::vector<Header> headers;
  std::optional<std::uint64_t> content_length;  // from the application's headers
  std::uint64_t written = 0;                    // body bytes the application gave
};

struct BridgeTypes;

// Creates the start_response and write types; returns false with an exception set.
bool init_start_response_types(BridgeTypes& types);

// A new start_response callable for `state` (a new reference, or null).
PyObject* new_start_response(const BridgeTypes& types, ResponseState* state);
// Detaches a start_response object (and the write callables it handed out) at the end.
void detach_start_response(PyObject* start_response);

// Hands one body chunk to the server; false with a Python exception set on failure.
bool write_chunk(const BridgeTypes& types, ResponseState& state, PyObject* chunk);

// Replaces the Content-Length header while the head is not committed (CL divination).
void set_content_length(ResponseState& state, std::uint64_t length);
// Hands the status and headers to the Response, once, before the first body bytes or at
// the end; the first write sends them. Throws what Response::start() throws.
void commit_head(ResponseState& state);

}  // namespace waitron::python
