// libFuzzer target: the JSON configuration loader (config::load_json_text) and what the
// runner does next with a loaded file (config::apply), on arbitrary bytes.
//
// The loader's contract (adjustments_json.hpp): every failure is an AdjustmentsError whose
// message starts with the file's name; a success yields only known option names, each with
// an origin naming the file. apply()'s contract (adjustments.hpp): it throws only
// AdjustmentsError. Any other exception escaping either is a finding: the target prints it
// and aborts. Crashes, leaks (ASan/LSan in the fuzz build) and timeouts are findings too.
//
// Single-threaded; libFuzzer (or replay_main.cpp) calls LLVMFuzzerTestOneInput in turn.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "config/adjustments.hpp"
#include "config/adjustments_json.hpp"

namespace {

constexpr const char* kFile = "fuzz.json";

[[noreturn]] void finding(const char* stage, const char* what) {
  std::fprintf(stderr, "fuzz_adjustments_json: %s: %s\n", stage, what);
  std::abort();
}

void require(bool ok, const char* what) {
  if (!ok) finding("contract", what);
}

bool starts_with_file(std::string_view message) {
  return message.substr(0, std::string_view(kFile).size() + 2) == std::string(kFile) + ": ";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  waitron::config::JsonConfig config;
  try {
    config = waitron::config::load_json_text(text, kFile);
  } catch (const waitron::config::AdjustmentsError& e) {
    require(starts_with_file(e.what()), "a loader error does not start with the file's name");
    return 0;
  } catch (const std::exception& e) {
    finding("load_json_text threw something other than AdjustmentsError", e.what());
  } catch (...) {
    finding("load_json_text threw a non-standard exception", "?");
  }
  for (const auto& value : config.values) {
    require(waitron::config::find_option(value.name) != nullptr, "an unknown option was loaded");
    require(starts_with_file(value.origin), "an origin does not name the file");
  }
  try {
    const waitron::config::Applied applied = waitron::config::apply(config.values);
    (void)applied;
  } catch (const waitron::config::AdjustmentsError&) {
    return 0;
  } catch (const std::exception& e) {
    finding("apply threw something other than AdjustmentsError", e.what());
  } catch (...) {
    finding("apply threw a non-standard exception", "?");
  }
  return 0;
}
