#include "runner/runner.hpp"

#include <unistd.h>
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "config/adjustments.hpp"
#include "config/adjustments_cli.hpp"
#include "config/adjustments_json.hpp"
#include "core/log.hpp"
#include "runner/supervisor.hpp"
#include "runner/worker_process.hpp"
#ifdef WAITRON_WITH_PYTHON
#include "python/embedded_runner.hpp"
#endif

namespace waitron::runner {

namespace {

Server* g_server = nullptr;
int g_signals = 0;

void usage_error(const std::string& prog, const std::string& message) {
  std::cerr << "Error: " << message << "\n\n" << config::help_text(prog);
}

// systemd socket activation (sd_listen_fds): descriptors 3.. when LISTEN_PID is us.
std::vector<int> systemd_sockets() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  if (!pid || !fds || std::strtol(pid, nullptr, 10) != static_cast<long>(getpid())) return {};
  long n = std::strtol(fds, nullptr, 10);
  std::vector<int> out;
  for (long i = 0; i < n && i < 256; ++i) out.push_back(static_cast<int>(3 + i));
  return out;
}

bool sets_address(const std::vector<config::NamedValue>& values) {
  for (const auto& v : values) {
    if (v.name == "listen" || v.name == "host" || v.name == "port" || v.name == "unix_socket" ||
        v.name == "sockets") {
      return true;
    }
  }
  return false;
}

}  // namespace

Server* current_server() noexcept {
  return g_server;
}

int run(const std::vector<std::string>& argv, std::shared_ptr<App> default_app) {
  std::string prog = argv.empty() ? "waitron-serve" : argv[0];
  if (auto slash = prog.rfind('/'); slash != std::string::npos) prog = prog.substr(slash + 1);
  std::vector<std::string> args(argv.begin() + (argv.empty() ? 0 : 1), argv.end());

  config::CliArgs cli;
  Adjustments adj;
  std::vector<std::string> warnings;
  try {
    cli = config::parse_cli(args);
    if (cli.help) {
      std::cout << config::help_text(prog);
      return 0;
    }
    std::vector<config::NamedValue> values;
    std::optional<std::string> config_app;
    if (cli.config) {
      config::JsonConfig file = config::load_json_file(*cli.config);
      values = std::move(file.values);
      config_app = std::move(file.app);
    }
    values.insert(values.end(), cli.values.begin(), cli.values.end());
    if (!cli.app && cli.positional.empty() && !config_app) {
      if (!sets_address(values)) {
        std::vector<int> fds = systemd_sockets();
        if (!fds.empty()) {
          config::IntList list(fds.begin(), fds.end());
          values.push_back(config::NamedValue{"sockets", list, "LISTEN_FDS"});
        }
      }
    } else {
#ifdef WAITRON_WITH_PYTHON
      // A WSGI application: the package's runner does the rest, in an embedded CPython.
      return python::run_embedded_runner(argv);
#else
      std::string spec = config::choose_app(cli, config_app);
      usage_error(prog, "Cannot import WSGI application '" + spec +
                            "': this waitron-serve was built without Python");
      return 1;
#endif
    }
    config::Applied applied = config::apply(values);
    adj = std::move(applied.adjustments);
    warnings = std::move(applied.warnings);
    check_worker_options(adj);
  } catch (const std::exception& e) {
    usage_error(prog, e.what());
    return 1;
  }

  core::StderrLogger logger(core::LogLevel::info);
  for (const auto& w : warnings) logger.write(core::LogLevel::warning, "waitron", w);
  if (wants_workers(adj)) {
    // Worker processes (supervisor.hpp): the sockets are opened here, once; this call
    // returns in the supervisor when it is done, and in each worker, which goes on below.
    std::vector<int> fds;
    try {
      fds = open_worker_sockets(adj);
    } catch (const std::exception& e) {
      std::cerr << "Error: " << e.what() << "\n";
      return 1;
    }
    SupervisorSettings settings = supervisor_settings(adj, fds);
    settings.log = [&logger](core::LogLevel level, const std::string& message) {
      logger.write(level, "waitron", message);
    };
    SuperviseResult result = supervise(settings);
    if (!result.is_worker) return result.exit_status;
    adj = worker_adjustments(std::move(adj), fds);
  }
  uv_loop_t* loop = uv_default_loop();
  int status = 0;
  const bool access_log = adj.access_log.has_value();
  {
    Server server(loop, std::move(adj), worker_app(std::move(default_app)));
    try {
      server.start();
    } catch (const std::exception& e) {
      std::cerr << "Error: " << e.what() << "\n";
      server.close();
      uv_run(loop, UV_RUN_DEFAULT);
      return 1;
    }
    g_server = &server;
    for (const ListenAddress& a : server.addresses()) {
      logger.write(core::LogLevel::info, "waitron", "Serving on " + a.url());
    }

    struct Signals {
      uv_signal_t interrupt{};
      uv_signal_t terminate{};
      uv_signal_t reopen{};  // SIGUSR1, with an access log: reopen it (log rotation)
      bool reopen_open = false;
      Server* server = nullptr;
    } signals;
    signals.server = &server;
    auto on_signal = [](uv_signal_t* handle, int) {
      // A second signal: no more waiting. A worker leaves that to its supervisor, which
      // sends SIGTERM besides the terminal's SIGINT or systemd's SIGTERM.
      if (++g_signals > 1) {
        if (in_worker()) return;
        std::_Exit(1);
      }
      auto* s = static_cast<Signals*>(handle->data);
      s->server->close([s] {
        uv_close(reinterpret_cast<uv_handle_t*>(&s->interrupt), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&s->terminate), nullptr);
        if (s->reopen_open) {
          uv_close(reinterpret_cast<uv_handle_t*>(&s->reopen), nullptr);
          // libuv put the default action back; a worker's supervisor may still forward one.
          if (in_worker()) ::signal(SIGUSR1, SIG_IGN);
        }
      });
    };
    for (auto [handle, signum] :
         {std::pair{&signals.interrupt, SIGINT}, std::pair{&signals.terminate, SIGTERM}}) {
      uv_signal_init(loop, handle);
      handle->data = &signals;
      uv_signal_start(handle, on_signal, signum);
    }
    if (access_log) {
      uv_signal_init(loop, &signals.reopen);
      signals.reopen.data = &signals;
      signals.reopen_open = true;
      uv_signal_start(
          &signals.reopen,
          [](uv_signal_t* handle, int) {
            static_cast<Signals*>(handle->data)->server->reopen_access_log();
          },
          SIGUSR1);
    }
    // Ready once it listens and handles its signals: the supervisor forwards SIGUSR1 to
    // ready workers only.
    worker_ready();
    uv_run(loop, UV_RUN_DEFAULT);
    g_server = nullptr;
  }
  if (uv_loop_close(loop) != 0) status = 1;
  return status;
}

}  // namespace waitron::runner
