// SPDX-License-Identifier: MIT
#include "kpgo/kernel/build.hpp"

#include <unistd.h>

#include <chrono>
#include <deque>
#include <fstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "kpgo/system/logging.hpp"

namespace kpgo::kernel {

namespace fs = std::filesystem;

Command Kbuild::make(const std::vector<std::string>& targets) const {
  unsigned job_count = jobs ? jobs : std::max(1u, std::thread::hardware_concurrency());
  Command command{{"make", "-C", source.string(), "O=" + output.string(), "LLVM=" + llvm,
                   "ARCH=" + arch, "-j" + std::to_string(job_count)},
                  std::nullopt,
                  {}};
  command.argv.insert(command.argv.end(), variables.begin(), variables.end());
  command.argv.insert(command.argv.end(), targets.begin(), targets.end());
  return command;
}

Result<> run_make(const Command& command, ProcessRunner& runner, const BuildLog& log) {
  std::error_code ec;
  fs::create_directories(log.file.parent_path(), ec);
  std::ofstream out(log.file, std::ios::app);
  if (!out) return fail("cannot write the build log {}", log.file.string());
  out << "$ " << render_command(command) << '\n';
  spdlog::debug("{}: {}", log.label, render_command(command));

  // Error lines are kept apart so that a failure can quote them however long the log grows.
  std::deque<std::string> errors;
  std::deque<std::string> tail;
  size_t steps = 0;
  auto last_shown = std::chrono::steady_clock::now();
  auto result = runner.stream(command, [&](std::string_view line) {
    out << line << '\n';
    tail.emplace_back(line);
    if (tail.size() > 15) tail.pop_front();
    if (line.find("error") != std::string_view::npos ||
        line.find("Error") != std::string_view::npos) {
      errors.emplace_back(line);
      if (errors.size() > 25) errors.pop_front();
    }
    if (line.size() > 2 && line[0] == ' ' && line[1] == ' ') ++steps;
    auto now = std::chrono::steady_clock::now();
    if (now - last_shown > std::chrono::milliseconds(200)) {
      last_shown = now;
      std::string shown(line.substr(0, 70));
      show_status(fmt::format("{}: {} steps  {}", log.label, steps, shown));
    }
  });
  clear_status();
  out.flush();
  if (!result) return tl::unexpected(result.error());
  if (result->succeeded()) return {};
  if (result->signal) {
    return fail("{} was interrupted (signal {}); run again to resume; log: {}", log.label,
                result->signal, log.file.string());
  }
  std::string quoted;
  for (const auto& line : errors.empty() ? tail : errors) quoted += "\n  " + line;
  return fail("{} failed (make exited with {}); log: {}{}", log.label, result->exit_code,
              log.file.string(), quoted);
}

}  // namespace kpgo::kernel
