// SPDX-License-Identifier: MIT
#include "kpgo/kernel/build.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kpgo/system/logging.hpp"

namespace kpgo::kernel {

namespace fs = std::filesystem;

void append_to_variable(std::vector<std::string>& variables, std::string_view name,
                        std::string_view flags) {
  std::string prefix = std::string(name) + "=";
  for (auto& variable : variables) {
    if (variable.rfind(prefix, 0) == 0) {
      variable += (variable.size() > prefix.size() ? " " : "") + std::string(flags);
      return;
    }
  }
  variables.push_back(prefix + std::string(flags));
}

std::string source_relative_names_option(const fs::path& source) {
  // kbuild names sources by its srctree, the tree's real path: "/a/tree" + "/kernel/fork.c"
  // loses "/a/tree/" with 3, one per separator.
  std::error_code ec;
  fs::path real = fs::weakly_canonical(fs::absolute(source), ec);
  if (ec) real = fs::absolute(source).lexically_normal();
  std::string text = real.string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  auto separators = std::count(text.begin(), text.end(), '/');
  return fmt::format("-mllvm -static-func-strip-dirname-prefix={}", separators + 1);
}

Command Kbuild::make(const std::vector<std::string>& targets) const {
  unsigned job_count = jobs ? jobs : std::max(1u, std::thread::hardware_concurrency());
  Command command{{"make", "-C", source.string(), "O=" + output.string(), "LLVM=" + llvm,
                   "ARCH=" + arch, "-j" + std::to_string(job_count)},
                  std::nullopt,
                  {}};
  std::vector<std::string> all = variables;
  std::string names = source_relative_names_option(source);
  append_to_variable(all, "KCFLAGS", names);
  // KLDFLAGS reaches the linker with kpgo's kernel support and is nothing to kbuild without it.
  append_to_variable(all, "KLDFLAGS", names);
  command.argv.insert(command.argv.end(), all.begin(), all.end());
  command.argv.insert(command.argv.end(), targets.begin(), targets.end());
  return command;
}

bool says_out_of_memory(std::string_view line) {
  for (std::string_view sign : {"Killed", "out of memory", "Out of memory", "bad_alloc",
                                "Cannot allocate memory", "Error 137"}) {
    if (line.find(sign) != std::string_view::npos) return true;
  }
  return false;
}

std::string memory_text(uint64_t kib) {
  if (kib >= 1024 * 1024) return fmt::format("{:.1f} GiB", static_cast<double>(kib) / (1 << 20));
  return fmt::format("{} MiB", (kib + 512) / 1024);
}

namespace {

uint64_t physical_memory_kib() {
  long pages = ::sysconf(_SC_PHYS_PAGES);
  long page_size = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return 0;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size) / 1024;
}

}  // namespace

Result<MakeOutcome> run_make(const Command& command, ProcessRunner& runner, const BuildLog& log) {
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
  bool out_of_memory = false;
  bool compiled = false;
  auto started = std::chrono::steady_clock::now();
  auto last_shown = started;
  auto result = runner.stream(command, [&](std::string_view line) {
    out << line << '\n';
    tail.emplace_back(line);
    if (tail.size() > 15) tail.pop_front();
    if (line.find("error") != std::string_view::npos ||
        line.find("Error") != std::string_view::npos) {
      errors.emplace_back(line);
      if (errors.size() > 25) errors.pop_front();
    }
    out_of_memory = out_of_memory || says_out_of_memory(line);
    if (line.size() > 2 && line[0] == ' ' && line[1] == ' ') ++steps;
    compiled = compiled || line.starts_with("  CC ");
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
  BuildCost cost{std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
                 result->peak_memory_kib};
  out << fmt::format("# kpgo: make took {:.0f} s; its largest process peaked at {}\n", cost.seconds,
                     memory_text(cost.peak_memory_kib));
  if (result->succeeded()) return MakeOutcome{cost, compiled};
  if (result->signal) {
    return fail("{} was interrupted (signal {}); run again to resume; log: {}", log.label,
                result->signal, log.file.string());
  }
  std::string quoted;
  for (const auto& line : errors.empty() ? tail : errors) quoted += "\n  " + line;
  if (out_of_memory) {
    return fail(
        "{} ran out of memory (make exited with {}): its largest process peaked at {} of the {} "
        "this machine has; to need less: {}; log: {}{}",
        log.label, result->exit_code, memory_text(cost.peak_memory_kib),
        memory_text(physical_memory_kib()), log.memory_advice, log.file.string(), quoted);
  }
  return fail("{} failed (make exited with {}); log: {}{}", log.label, result->exit_code,
              log.file.string(), quoted);
}

}  // namespace kpgo::kernel
