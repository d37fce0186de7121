// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kpgo/system/error.hpp"
#include "kpgo/system/signals.hpp"

namespace kpgo {

struct Command {
  std::vector<std::string> argv{};
  std::optional<std::filesystem::path> cwd{};
  std::map<std::string, std::string> env{};  // added to (or replacing in) kpgo's environment
  std::optional<std::filesystem::path> stdin_file{};   // default: /dev/null
  std::optional<std::filesystem::path> stdout_file{};  // default: captured or streamed
  unsigned timeout_seconds = 0;  // 0: none; then the whole process group gets SIGKILL
};

struct ProcessOutput {
  int exit_code = -1;  // valid when signal == 0
  int signal = 0;      // the signal that ended the child, if any
  bool timed_out = false;
  // The resident peak of the largest process of its tree (the child or any descendant waited
  // for), in KiB: what a build needed at most at once. At least kpgo's own size: a spawned child
  // starts in kpgo's address space, and the kernel counts that too.
  uint64_t peak_memory_kib = 0;
  std::string out;
  std::string err;
  bool succeeded() const { return signal == 0 && exit_code == 0; }
};

// Called with each complete line the child writes, stdout and stderr alike.
using LineSink = std::function<void(std::string_view line)>;

// Runs programs in their own process group, registered so that Ctrl-C (SIGINT, SIGTERM, SIGHUP)
// delivered to kpgo reaches every process of every tree running (system/signals.hpp), make's
// children included, and kpgo exits after them.
class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // Runs to completion and returns what the child wrote. Failing to start is an Error; a
  // non-zero exit is not (callers decide what it means).
  virtual Result<ProcessOutput> capture(const Command& command) = 0;
  // Runs to completion, handing output lines to `sink` as they come instead of keeping them.
  virtual Result<ProcessOutput> stream(const Command& command, const LineSink& sink) = 0;
};

ProcessRunner& system_runner();

// Quotes one word for a POSIX shell, so that --dry-run output and remote commands can be pasted.
// A command whose first word is "#" renders as a shell comment: a step kpgo does itself.
std::string shell_quote(std::string_view word);
std::string render_command(const Command& command);

// Finds an executable by name on PATH (or checks a path given with a slash).
std::optional<std::filesystem::path> find_program(std::string_view name);

}  // namespace kpgo
