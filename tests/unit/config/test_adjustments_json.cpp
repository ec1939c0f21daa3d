// Tests of src/config/adjustments_json.cpp: strict types, unknown keys with suggestions,
// JSON pointers, parse errors, the file name in every message, "app", and errors that
// apply() finds in values from a file.
//
// Owner: the config layer. Single-threaded; writes files only under the test temp folder.
#include "config/adjustments_json.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace waitron::config {
namespace {

// The message of the AdjustmentsError that loading `text` throws, or "" if none.
std::string load_error(const std::string& text, const std::string& file = "config.json") {
  try {
    (void)load_json_text(text, file);
  } catch (const AdjustmentsError& e) {
    return e.what();
  }
  return "";
}

// The message of the AdjustmentsError that loading and applying `text` throws.
std::string apply_error(const std::string& text) {
  try {
    const JsonConfig config = load_json_text(text, "config.json");
    (void)apply(config.values);
  } catch (const AdjustmentsError& e) {
    return e.what();
  }
  return "";
}

std::filesystem::path temp_dir() {
  const char* from_env = std::getenv("WAITRON_TEST_TMPDIR");
  std::filesystem::path dir = from_env != nullptr ? std::filesystem::path(from_env)
                                                  : std::filesystem::temp_directory_path();
  dir /= "config_json";
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("a file of every kind of value") {
  const JsonConfig config = load_json_text(R"({
    "app": "pkg.mod:application",
    "threads": 8,
    "ipv6": false,
    "listen": ["127.0.0.1:9000", "[::1]:9001"],
    "ident": "",
    "unix_socket_perms": "660",
    "trusted_proxy": "10.0.0.1",
    "trusted_proxy_headers": "x-forwarded-for x-forwarded-proto",
    "url_prefix": "/app/",
    "asyncore_use_poll": true
  })",
                                           "config.json");
  CHECK(config.app == "pkg.mod:application");
  REQUIRE(config.values.size() == 9);
  CHECK(config.values[0].name == "threads");  // file order, "app" not among the options
  CHECK(std::get<std::int64_t>(config.values[0].value) == 8);
  CHECK(config.values[0].origin == "config.json: option \"threads\" at /threads");
  CHECK(std::get<StringList>(config.values[2].value) == StringList{"127.0.0.1:9000", "[::1]:9001"});

  const Applied applied = apply(config.values);
  const Adjustments& a = applied.adjustments;
  CHECK(a.threads == 8);
  CHECK(a.ipv6 == false);
  CHECK(a.listen == std::vector<ListenEntry>{{"127.0.0.1", "9000"}, {"::1", "9001"}});
  CHECK(a.ident == std::nullopt);
  CHECK(a.unix_socket_perms == 0660);
  CHECK(a.trusted_proxy_headers == std::set<std::string>{"x-forwarded-for", "x-forwarded-proto"});
  CHECK(a.url_prefix == "/app");
  CHECK(a.asyncore_use_poll == true);
  REQUIRE(applied.warnings.size() == 1);
  CHECK(applied.warnings[0] ==
        "asyncore_use_poll is accepted for compatibility with waitress and ignored");
}

TEST_CASE("an empty object gives the defaults and no app") {
  const JsonConfig config = load_json_text("{}", "empty.json");
  CHECK(config.values.empty());
  CHECK(config.app == std::nullopt);
  CHECK(apply(config.values).adjustments.threads == Adjustments{}.threads);
}

TEST_CASE("unknown keys name the closest known key") {
  CHECK(load_error(R"({"therads": 4})") ==
        "config.json: unknown option \"therads\" at /therads; did you mean \"threads\"?");
  CHECK(load_error(R"({"max_request_body": 4})") ==
        "config.json: unknown option \"max_request_body\" at /max_request_body; did you mean "
        "\"max_request_body_size\"?");
  CHECK(load_error(R"({"ap": "x:y"})") ==
        "config.json: unknown option \"ap\" at /ap; did you mean \"app\"?");
  CHECK(load_error(R"({"q": 1})") == "config.json: unknown option \"q\" at /q");
  CHECK(load_error(R"({"zzzzzzzz": 1})") ==
        "config.json: unknown option \"zzzzzzzz\" at /zzzzzzzz");
  CHECK(load_error(R"({"a/b~c": 1})") == "config.json: unknown option \"a/b~c\" at /a~1b~0c");
  CHECK(closest_known_key("hots") == "host");
  CHECK(closest_known_key("ipv5") == "ipv4");
  CHECK(closest_known_key("apps") == "app");
  CHECK(closest_known_key("completely-unrelated") == std::nullopt);
}

TEST_CASE("wrong types name the key, the expected type and the pointer") {
  CHECK(load_error(R"({"threads": "4"})") ==
        "config.json: option \"threads\" at /threads must be an integer, not a string");
  CHECK(load_error(R"({"threads": 4.5})") ==
        "config.json: option \"threads\" at /threads must be an integer, not a number");
  CHECK(load_error(R"({"threads": 18446744073709551615})") ==
        "config.json: option \"threads\" at /threads is too large: 18446744073709551615");
  CHECK(load_error(R"({"ipv6": "false"})") ==
        "config.json: option \"ipv6\" at /ipv6 must be a boolean, not a string");
  CHECK(load_error(R"({"ipv6": 0})") ==
        "config.json: option \"ipv6\" at /ipv6 must be a boolean, not an integer");
  CHECK(load_error(R"({"host": null})") ==
        "config.json: option \"host\" at /host must be a string, not null");
  CHECK(load_error(R"({"ident": ["a"]})") ==
        "config.json: option \"ident\" at /ident must be a string, not an array");
  CHECK(load_error(R"({"listen": 80})") ==
        "config.json: option \"listen\" at /listen must be a string or an array of strings, not "
        "an integer");
  CHECK(load_error(R"({"unix_socket_perms": true})") ==
        "config.json: option \"unix_socket_perms\" at /unix_socket_perms must be a string or an "
        "integer, not a boolean");
  CHECK(load_error(R"({"sockets": "3"})") ==
        "config.json: option \"sockets\" at /sockets must be an array of integers, not a string");
  CHECK(load_error(R"({"app": {"module": "x"}})") ==
        "config.json: option \"app\" at /app must be a string, not an object");
}

TEST_CASE("array elements have their own pointer") {
  CHECK(load_error(R"({"listen": ["127.0.0.1:80", 8080]})") ==
        "config.json: option \"listen\" at /listen/1 must be a string, not an integer");
  CHECK(load_error(R"({"trusted_proxy_headers": ["forwarded", null]})") ==
        "config.json: option \"trusted_proxy_headers\" at /trusted_proxy_headers/1 must be a "
        "string, not null");
  CHECK(load_error(R"({"sockets": [3, "4"]})") ==
        "config.json: option \"sockets\" at /sockets/1 must be an integer, not a string");
}

TEST_CASE("parse errors give the line and column") {
  const std::string message = load_error("{\n  \"threads\": 4,\n  \"port\": x\n}");
  CHECK(message.rfind("config.json: parse error at line 3, column 11: syntax error", 0) == 0);
  CHECK(load_error("").rfind("config.json: parse error at line 1, column 1:", 0) == 0);
  CHECK(load_error("{\"threads\": 4,}").rfind("config.json: parse error at line 1", 0) == 0);
  CHECK(load_error("{\"threads\": 4} trailing").rfind("config.json: parse error", 0) == 0);
}

// Regression (fuzz_adjustments_json): a number beyond a double escaped as nlohmann's
// out_of_range instead of an AdjustmentsError naming the file.
TEST_CASE("a number too large for a double is an error naming the file") {
  CHECK(load_error(R"({"port": 1e400})") == "config.json: number overflow parsing '1e400'");
  CHECK(load_error(R"({"port": -1e400})") == "config.json: number overflow parsing '-1e400'");
}

TEST_CASE("the top level must be an object") {
  CHECK(load_error("[1, 2]") ==
        "config.json: the top level must be an object of options, not an array");
  CHECK(load_error("\"threads\"") ==
        "config.json: the top level must be an object of options, not a string");
}

TEST_CASE("duplicate keys are an error") {
  CHECK(load_error(R"({"threads": 4, "threads": 5})") ==
        "config.json: duplicate option \"threads\" at /threads");
  // Nested objects are not options; only the top level is checked for duplicates.
  CHECK(load_error(R"({"app": "a:b", "app": "c:d"})") ==
        "config.json: duplicate option \"app\" at /app");
}

TEST_CASE("apply() errors about values from the file carry its name and pointer") {
  CHECK(apply_error(R"({"unix_socket_perms": "abc"})") ==
        "config.json: option \"unix_socket_perms\" at /unix_socket_perms: invalid literal for "
        "int() with base 8: 'abc'");
  CHECK(apply_error(R"({"threads": -2})") ==
        "config.json: option \"threads\" at /threads: threads must be >= 0, not -2");
  CHECK(apply_error(R"({"trusted_proxy_headers": ["forwarded"]})") ==
        "config.json: option \"trusted_proxy_headers\" at /trusted_proxy_headers: "
        "trusted_proxy_headers has no meaning without setting trusted_proxy");
  CHECK(apply_error(R"({"port": 80, "listen": "127.0.0.1:80"})") ==
        "config.json: option \"port\" at /port: host or port may not be set if listen is set.");
  CHECK(apply_error(R"({"unix_socket_perms": 4096})") ==
        "config.json: option \"unix_socket_perms\" at /unix_socket_perms: unix_socket_perms must "
        "be an octal mode between 0 and 7777, not 10000");
}

TEST_CASE("command-line values override the file") {
  const JsonConfig config = load_json_text(R"({"threads": 2, "ident": "file"})", "c.json");
  std::vector<NamedValue> values = config.values;
  values.push_back(NamedValue{"threads", std::string("7"), {}});
  const Applied applied = apply(values);
  CHECK(applied.adjustments.threads == 7);
  CHECK(applied.adjustments.ident == "file");
}

TEST_CASE("every error names the file") {
  const std::string file = "/etc/waitron/site.json";
  for (const char* text : {"[", "[]", R"({"x": 1})", R"({"threads": true})", R"({"listen": [1]})",
                           R"({"port": 1, "port": 2})"}) {
    CAPTURE(text);
    CHECK(load_error(text, file).rfind(file + ": ", 0) == 0);
  }
}

TEST_CASE("load_json_file reads a file and names a missing one") {
  const std::filesystem::path path = temp_dir() / "site.json";
  {
    std::ofstream out(path);
    out << R"({"app": "m:o", "port": 8181})";
  }
  const JsonConfig config = load_json_file(path.string());
  CHECK(config.app == "m:o");
  REQUIRE(config.values.size() == 1);
  CHECK(config.values[0].origin == path.string() + ": option \"port\" at /port");

  const std::string missing = (temp_dir() / "missing.json").string();
  CHECK_THROWS_WITH_AS((void)load_json_file(missing),
                       (missing + ": cannot read the file: No such file or directory").c_str(),
                       AdjustmentsError);
  const std::string directory = temp_dir().string();
  CHECK_THROWS_WITH_AS((void)load_json_file(directory),
                       (directory + ": cannot read the file: Is a directory").c_str(),
                       AdjustmentsError);
}

}  // namespace waitron::config
