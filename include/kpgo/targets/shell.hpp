// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "kpgo/system/process.hpp"
#include "kpgo/targets/target.hpp"

namespace kpgo::targets {

// Runs shell command lines on one machine: stdin from a file or nothing, stdout to a file or
// captured.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual std::string machine() const = 0;
  virtual Result<ProcessOutput> run(const std::string& command_line,
                                    const std::optional<std::filesystem::path>& stdin_file,
                                    const std::optional<std::filesystem::path>& stdout_file,
                                    unsigned timeout_seconds) = 0;
};

struct SshHost {
  std::string user;  // empty: the user's ssh config decides
  std::string host;
  unsigned port = 0;  // 0: the user's ssh config decides
  std::string display() const;
};

// [USER@]HOST[:PORT], with [IPv6]:PORT.
Result<SshHost> parse_ssh_host(std::string_view text);

// OpenSSH in batch mode (no password prompts), with the user's own ssh config and keys.
std::unique_ptr<Transport> ssh_transport(SshHost host, ProcessRunner& runner,
                                         std::vector<std::string> extra_options = {});
// This machine, through /bin/sh.
std::unique_ptr<Transport> local_transport(ProcessRunner& runner);

struct ProfileFiles {
  std::string profile = "/sys/kernel/debug/pgo/vmlinux.profraw";
  std::string reset = "/sys/kernel/debug/pgo/reset";
};

// A machine reached by shell commands: per run, write the reset file, run the workload script
// (sent on stdin), stream the profile file back with cat, and each module's profile beside it.
class ShellTarget final : public Target {
 public:
  ShellTarget(std::unique_ptr<Transport> transport, ProfileFiles files);
  std::string describe() const override { return transport_->machine(); }
  Result<std::vector<RunOutcome>> collect(const CollectRequest& request) override;

 private:
  // The run's module profiles (MODULE.profraw beside vmlinux.profraw) into run_dir.
  Result<std::vector<std::filesystem::path>> fetch_module_profiles(
      const std::filesystem::path& run_dir);

  std::unique_ptr<Transport> transport_;
  ProfileFiles files_;
};

}  // namespace kpgo::targets
