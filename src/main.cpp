// SPDX-License-Identifier: MIT
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/json_output.hpp"
#include "kpgo/system/logging.hpp"
#include "kpgo/system/process.hpp"
#include "kpgo/system/signals.hpp"

int main(int argc, char** argv) {
  using namespace kpgo;
  install_signal_handling();
  CLI::App app{"kpgo: profile-guided optimization of the Linux kernel with clang", "kpgo"};
  app.set_version_flag("--version", cli::version_text);
  app.require_subcommand(1);
  app.fallthrough();

  cli::GlobalOptions globals;
  app.add_flag("-v,--verbose", globals.verbose, "More log output on stderr (-vv: commands run)");
  app.add_flag("-q,--quiet", globals.quiet, "Errors only on stderr");
  app.add_flag("--json", globals.json, "One JSON document on stdout instead of text");

  std::vector<cli::Subcommand> all = {
      cli::add_doctor_command(app, globals),   cli::add_instrument_command(app, globals),
      cli::add_collect_command(app, globals),  cli::add_merge_command(app, globals),
      cli::add_optimize_command(app, globals), cli::add_run_command(app, globals),
      cli::add_bench_command(app, globals),    cli::add_artifacts_command(app, globals),
  };

  // kpgo's own options take no values, so the first word that is not an option names the command.
  for (int i = 1; i < argc; ++i) {
    std::string_view word = argv[i];
    if (word.starts_with("-")) continue;
    std::string names;
    bool known = false;
    for (const auto& command : all) {
      known = known || command.app->get_name() == word;
      names += (names.empty() ? "" : ", ") + command.app->get_name();
    }
    if (known) break;
    fmt::print(stderr, "kpgo: error: '{}' is not a kpgo command (commands: {})\n", word, names);
    return 2;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One voice for every error, and the usual usage-error status instead of CLI11's own codes.
    fmt::print(stderr, "kpgo: error: {}\nkpgo: see 'kpgo --help' or 'kpgo COMMAND --help'\n",
               e.what());
    return 2;
  }
  setup_logging(globals.quiet ? -1 : globals.verbose);

  try {
    for (auto& command : all) {
      if (!command.app->parsed()) continue;
      Result<int> status = command.run();
      if (!status) {
        // --json promises one document on stdout: a failure is one too, unless the command
        // already printed its own (doctor's report says why it failed).
        if (globals.json && !globals.json_written) {
          cli::print_json(
              {{"error",
                {{"command", command.app->get_name()}, {"message", status.error().what()}}}});
        }
        std::fflush(stdout);
        fmt::print(stderr, "kpgo: error: {}\n", status.error().what());
        return interrupted() ? 128 + interrupting_signal() : 1;
      }
      return *status;
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "kpgo: error: internal: {}\n", e.what());
    return 70;
  }
  return 0;
}
