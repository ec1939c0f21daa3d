// libFuzzer target: http::Connection end to end with a fake application,
// several requests per input, fed in pieces whose sizes come from the input, through
// receive() or, as the channel reads sockets, into the body's room where one is lent.
// It checks the connection's contract: at most one request out at a time,
// nothing handed out once the connection is closing, every response
// framed so that a client can read it back, and one access-log record per
// final response, with its status, in order.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "support/connection_driver.hpp"
#include "support/response_reader.hpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t piece = (data[0] & 63u) + 1;
  bool eof = (data[0] & 64u) != 0;
  bool in_place = (data[0] & 128u) != 0;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  waitron::http::ConnectionSettings settings;
  settings.parser.max_head_bytes = 2048;
  settings.parser.max_body_bytes = 4096;
  settings.parser.inbuf_overflow = 512;
  settings.record_responses = true;
  waitron::test::ConnectionDriver driver(settings);
  std::size_t served = 0;
  while (!in.empty()) {
    bool was_closing = driver.connection().closing();
    if (in_place) {
      driver.send_in_place(in.substr(0, piece));
    } else {
      driver.send(in.substr(0, piece));
    }
    in.remove_prefix(std::min(piece, in.size()));
    require(!was_closing || driver.requests().size() == served);
    served = driver.requests().size();
    require(!driver.connection().has_request());
  }
  if (eof) driver.send_eof();
  std::vector<bool> answers_head;
  for (auto& r : driver.requests()) answers_head.push_back(r.head.method == "HEAD");
  auto responses = waitron::test::read_responses(driver.output(), answers_head);
  std::size_t ok = 0;
  for (auto& r : responses) {
    require(r.complete);
    int status = r.status();
    require(status == 100 || status == 200 || status == 400 || status == 413 || status == 431 ||
            status == 500 || status == 501 || status == 505);
    if (status == 200) ++ok;
    if (status >= 400) require(&r == &responses.back());  // an error ends the exchange
  }
  require(ok == driver.requests().size());
  auto records = driver.connection().take_records();
  std::size_t finals = 0;
  std::uint64_t end = 0;
  for (auto& r : responses) {
    if (r.status() == 100) continue;
    require(finals < records.size() && records[finals].record.status == r.status());
    require(records[finals].output_end >= end);
    end = records[finals].output_end;
    ++finals;
  }
  require(finals == records.size());
  require(end <= driver.output().size());
  return 0;
}
