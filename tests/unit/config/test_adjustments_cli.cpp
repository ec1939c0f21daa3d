// Tests of src/config/adjustments_cli.cpp: waitress's TestCLI, Python getopt long-option
// semantics (prefixes, ambiguity, arguments, the end of options), the runner's app choice,
// and the generated help text.
//
// Owner: the config layer. Single-threaded.
#include "config/adjustments_cli.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

namespace waitron::config {
namespace {

CliArgs parse(std::vector<std::string> args) {
  return parse_cli(args);
}

// The option values as a map of strings, like waitress's kw dict without help and call.
std::map<std::string, std::string> opts(const CliArgs& args) {
  std::map<std::string, std::string> out;
  for (const NamedValue& value : args.values) out[value.name] = std::get<std::string>(value.value);
  return out;
}

std::string cli_error(std::vector<std::string> args) {
  try {
    (void)parse_cli(args);
  } catch (const CliError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// ---- TestCLI -----------------------------------------------------------------------------

TEST_CASE("TestCLI.test_noargs") {
  const CliArgs args = parse({});
  CHECK(args.values.empty());
  CHECK_FALSE(args.help);
  CHECK_FALSE(args.call);
  CHECK(args.app == std::nullopt);
  CHECK(args.config == std::nullopt);
  CHECK(args.positional.empty());
}

TEST_CASE("TestCLI.test_help") {
  const CliArgs args = parse({"--help"});
  CHECK(args.help);
  CHECK_FALSE(args.call);
  CHECK(args.values.empty());
  CHECK(args.positional.empty());
}

TEST_CASE("TestCLI.test_call") {
  const CliArgs args = parse({"--call"});
  CHECK(args.call);
  CHECK_FALSE(args.help);
  CHECK(args.positional.empty());
}

TEST_CASE("TestCLI.test_both") {
  const CliArgs args = parse({"--call", "--help"});
  CHECK(args.call);
  CHECK(args.help);
  CHECK(args.positional.empty());
}

TEST_CASE("TestCLI.test_positive_boolean") {
  const CliArgs args = parse({"--expose-tracebacks"});
  CHECK(opts(args) == std::map<std::string, std::string>{{"expose_tracebacks", "true"}});
  CHECK(args.positional.empty());
}

TEST_CASE("TestCLI.test_negative_boolean") {
  const CliArgs args = parse({"--no-expose-tracebacks"});
  CHECK(opts(args) == std::map<std::string, std::string>{{"expose_tracebacks", "false"}});
  CHECK(args.positional.empty());
}

TEST_CASE("TestCLI.test_cast_params") {
  const CliArgs args = parse({"--host=localhost", "--port=80", "--unix-socket-perms=777"});
  CHECK(opts(args) == std::map<std::string, std::string>{
                          {"host", "localhost"}, {"port", "80"}, {"unix_socket_perms", "777"}});
  CHECK(args.positional.empty());
}

TEST_CASE("TestCLI.test_listen_params") {
  const CliArgs args = parse({"--listen=test:80"});
  CHECK(opts(args) == std::map<std::string, std::string>{{"listen", " test:80"}});
  CHECK(args.positional.empty());
}

TEST_CASE("TestCLI.test_multiple_listen_params") {
  const CliArgs args = parse({"--listen=test:80", "--listen=test:8080"});
  CHECK(opts(args) == std::map<std::string, std::string>{{"listen", " test:80 test:8080"}});
  CHECK(args.positional.empty());
}

TEST_CASE("TestCLI.test_bad_param") {
  CHECK(cli_error({"--no-host"}) == "option --no-host not recognized");
}

// ---- getopt semantics --------------------------------------------------------------------

TEST_CASE("values: --name=value, --name value, empty values, repeats") {
  CHECK(opts(parse({"--threads", "8"})) == std::map<std::string, std::string>{{"threads", "8"}});
  CHECK(opts(parse({"--url-prefix="})) == std::map<std::string, std::string>{{"url_prefix", ""}});
  CHECK(opts(parse({"--ident=a=b"})) == std::map<std::string, std::string>{{"ident", "a=b"}});
  // The value after a flag is taken even if it looks like a flag.
  CHECK(opts(parse({"--ident", "--help"})) ==
        std::map<std::string, std::string>{{"ident", "--help"}});
  const CliArgs repeated = parse({"--threads=1", "--port=2", "--threads=3"});
  REQUIRE(repeated.values.size() == 2);
  CHECK(repeated.values[0].name == "threads");  // first position, last value
  CHECK(std::get<std::string>(repeated.values[0].value) == "3");
  CHECK(opts(parse({"--ipv4", "--no-ipv4"})) ==
        std::map<std::string, std::string>{{"ipv4", "false"}});
}

TEST_CASE("unique prefixes are accepted, ambiguous ones are errors") {
  CHECK(opts(parse({"--thr=8"})) == std::map<std::string, std::string>{{"threads", "8"}});
  CHECK(opts(parse({"--expose"})) ==
        std::map<std::string, std::string>{{"expose_tracebacks", "true"}});
  CHECK(opts(parse({"--no-expose"})) ==
        std::map<std::string, std::string>{{"expose_tracebacks", "false"}});
  CHECK(parse({"--he"}).help);
  // An exact name wins over the longer names it is a prefix of.
  CHECK(opts(parse({"--trusted-proxy=*"})) ==
        std::map<std::string, std::string>{{"trusted_proxy", "*"}});
  CHECK(opts(parse({"--unix-socket=/s"})) ==
        std::map<std::string, std::string>{{"unix_socket", "/s"}});
  CHECK(cli_error({"--c"}) == "option --c not a unique prefix");
  CHECK(cli_error({"--ipv"}) == "option --ipv not a unique prefix");
  CHECK(cli_error({"--no-ipv=1"}) == "option --no-ipv not a unique prefix");
  CHECK(cli_error({"--con=x"}) == "option --con not a unique prefix");  // config, connection-limit
  CHECK(cli_error({"--=x"}) == "option -- not a unique prefix");
}

TEST_CASE("getopt's error messages") {
  CHECK(cli_error({"--bad-opt"}) == "option --bad-opt not recognized");
  CHECK(cli_error({"--threads"}) == "option --threads requires argument");
  CHECK(cli_error({"--thr"}) == "option --threads requires argument");
  CHECK(cli_error({"--help=1"}) == "option --help must not have an argument");
  CHECK(cli_error({"--ipv4=yes"}) == "option --ipv4 must not have an argument");
  CHECK(cli_error({"--no-threads=1"}) == "option --no-threads not recognized");
  CHECK(cli_error({"-h"}) == "option -h not recognized");
  CHECK(cli_error({"-xyz"}) == "option -x not recognized");
  CHECK(cli_error({"--threads_count=1"}) == "option --threads_count not recognized");
}

TEST_CASE("options end at the first positional argument or at --") {
  const CliArgs after = parse({"--call", "app:x", "--port=1"});
  CHECK(after.call);
  CHECK(after.values.empty());
  CHECK(after.positional == std::vector<std::string>{"app:x", "--port=1"});
  const CliArgs dashes = parse({"--port=1", "--", "--help"});
  CHECK_FALSE(dashes.help);
  CHECK(dashes.positional == std::vector<std::string>{"--help"});
  const CliArgs dash = parse({"-", "x"});
  CHECK(dash.positional == std::vector<std::string>{"-", "x"});
}

TEST_CASE("--app, --config and --sockets") {
  const CliArgs args = parse({"--app=pkg:app", "--config", "site.json", "--sockets=X"});
  CHECK(args.app == "pkg:app");
  CHECK(args.config == "site.json");
  CHECK(opts(args) == std::map<std::string, std::string>{{"sockets", "X"}});
  // --sockets=X converts to no sockets, but still excludes --port (waitress's quirk).
  CHECK(apply(args.values).adjustments.sockets.empty());
  const CliArgs both = parse({"--sockets=X", "--port=80"});
  CHECK_THROWS_WITH_AS((void)apply(both.values), "host or port may not be set if sockets is set.",
                       AdjustmentsError);
}

TEST_CASE("command-line values go through apply()") {
  const CliArgs args = parse({"--port=80", "--no-ipv6", "--listen=127.0.0.1:1"});
  CHECK_THROWS_WITH_AS((void)apply(args.values), "host or port may not be set if listen is set.",
                       AdjustmentsError);
  const Applied applied =
      apply(parse({"--threads=9", "--no-log-socket-errors", "--listen=127.0.0.1:1",
                   "--listen=[::1]:2", "--unix-socket-perms=0o640", "--trusted-proxy=*"})
                .values);
  CHECK(applied.adjustments.threads == 9);
  CHECK(applied.adjustments.log_socket_errors == false);
  CHECK(applied.adjustments.listen == std::vector<ListenEntry>{{"127.0.0.1", "1"}, {"::1", "2"}});
  CHECK(applied.adjustments.unix_socket_perms == 0640);
  CHECK(applied.warnings.size() == 1);  // implicit X-Forwarded-Proto
  CHECK_THROWS_WITH_AS((void)apply(parse({"--port=abc"}).values),
                       "invalid literal for int() with base 10: 'abc'", AdjustmentsError);
}

// ---- The runner's choice of app ----------------------------------------------------------

TEST_CASE("choose_app") {
  const std::optional<std::string> none;
  CHECK(choose_app(parse({"pkg:app"}), none) == "pkg:app");
  CHECK(choose_app(parse({"--app=pkg:app"}), none) == "pkg:app");
  CHECK(choose_app(parse({}), std::string("file:app")) == "file:app");
  CHECK(choose_app(parse({"cli:app"}), std::string("file:app")) == "cli:app");
  CHECK_THROWS_WITH_AS((void)choose_app(parse({}), none), "Specify an application", CliError);
  CHECK_THROWS_WITH_AS((void)choose_app(parse({"--app=a:b", "c:d"}), none),
                       "Provide only one WSGI app", CliError);
  CHECK_THROWS_WITH_AS((void)choose_app(parse({"a:b", "c:d"}), none), "Provide only one WSGI app",
                       CliError);
  CHECK_THROWS_WITH_AS((void)choose_app(parse({"--call", "app:x", "--port=1"}), none),
                       "Provide only one WSGI app", CliError);
}

// ---- Help text ---------------------------------------------------------------------------

TEST_CASE("help text starts like waitress's and lists every flag") {
  const std::string help = help_text("waitron-serve");
  CHECK(help.rfind("Usage:\n\n    waitron-serve [OPTS] MODULE:OBJECT\n\nStandard options:\n\n"
                   "    --help\n        Show this information.\n",
                   0) == 0);
  for (const char* flag :
       {"    --app=MODULE:OBJECT\n", "    --call\n", "    --config=FILE.json\n",
        "    --host=ADDR\n", "    --port=PORT\n", "    --listen=ip:port\n", "    --[no-]ipv4\n",
        "    --[no-]asyncore-use-poll\n", "    --unix-socket-perms=PERMS\n", "    --threads=INT\n",
        "\nTuning options:\n\n", "\nAccepted for compatibility"}) {
    CAPTURE(flag);
    CHECK(help.find(flag) != std::string::npos);
  }
  for (const OptionInfo& option : options()) {
    std::string flag(option.name);
    for (char& c : flag) c = c == '_' ? '-' : c;
    flag = option.is_boolean ? "    --[no-]" + flag + "\n" : "    --" + flag + "=";
    CAPTURE(flag);
    CHECK(help.find(flag) != std::string::npos);
  }
  CHECK(help.find("Default: 'waitron'.") != std::string::npos);
  CHECK(help.find("Default: 0.0.0.0:8080.") != std::string::npos);
  CHECK(help.find("Default: 600.") != std::string::npos);
  CHECK(help.find("            --listen=[::1]:8080\n") != std::string::npos);  // example kept
  // Wrapped to 79 columns.
  std::size_t start = 0;
  while (start < help.size()) {
    const std::size_t end = help.find('\n', start);
    CHECK(end - start <= 79);
    start = end + 1;
  }
}

}  // namespace waitron::config
