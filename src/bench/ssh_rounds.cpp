// SPDX-License-Identifier: MIT
#include <chrono>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "kpgo/kernel/bzimage.hpp"
#include "kpgo/targets/shell.hpp"
#include "rounds.hpp"

namespace kpgo::bench {

namespace fs = std::filesystem;

namespace {

// The workload script comes on stdin. The clock is read on the machine, around the script alone,
// so that ssh's own connection time is not part of the figure.
constexpr const char* kTimedRun =
    "d=$(mktemp -d) || exit 111; cat > \"$d/w.sh\"; cd \"$d\" || exit 111; "
    "s=$(date +%s%N); sh ./w.sh > ./log 2>&1; r=$?; e=$(date +%s%N); "
    "echo \"KPGO-BENCH $s $e $r\"; [ \"$r\" = 0 ] || tail -n 20 ./log >&2; cd /; rm -rf \"$d\"";

constexpr auto kPollInterval = std::chrono::seconds(3);

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

std::string describe(const kernel::KernelIdentity& id) {
  return id.release + " " + id.version;
}

// What the machine runs, and which boot of it: a kernel booted again has a new boot ID.
struct Running {
  kernel::KernelIdentity kernel;
  std::string boot_id;
};

Result<Running> ask_running(targets::Transport& machine) {
  KPGO_TRY_BIND(answer, machine.run("uname -r; uname -v; cat /proc/sys/kernel/random/boot_id",
                                    std::nullopt, std::nullopt, 30));
  if (!answer->succeeded()) return fail("ssh: {}", first_line(answer->err));
  std::istringstream lines(answer->out);
  Running running;
  std::getline(lines, running.kernel.release);
  std::getline(lines, running.kernel.version);
  std::getline(lines, running.boot_id);
  return running;
}

// Runs the user's boot command for `kernel`, then waits until the machine answers with it, in a
// boot after the command ran: every measurement starts from a fresh boot, and a command that
// returns while the old system still answers (a reboot under way) is not mistaken for done.
Result<> boot(const SshBenchOptions& ssh, const BenchKernel& kernel,
              const kernel::KernelIdentity& wanted, targets::Transport& machine,
              const fs::path& log, ProcessRunner& runner) {
  auto before = ask_running(machine);
  std::string old_boot = before ? before->boot_id : "";
  Command command{{"/bin/sh", "-c", ssh.boot_command}};
  command.env = {{"KPGO_KERNEL", kernel.name},
                 {"KPGO_BZIMAGE", kernel.bzimage.string()},
                 {"KPGO_BUILD_DIR", kernel.build_dir.string()},
                 {"KPGO_RELEASE", wanted.release},
                 {"KPGO_VERSION", wanted.version},
                 {"KPGO_SSH_HOST", ssh.host}};
  command.stdout_file = log;
  command.timeout_seconds = ssh.boot_timeout_seconds;
  spdlog::debug("KPGO_KERNEL={} {}", kernel.name, render_command(command));
  KPGO_TRY_BIND(ran, runner.capture(command));
  if (!ran->succeeded()) {
    return fail("the boot command failed for the {} kernel (exit {}{}): {}; its output is in {}",
                kernel.name, ran->exit_code, ran->timed_out ? ", timed out" : "",
                first_line(ran->err), log.string());
  }

  // The command may return while the old kernel still answers (a reboot in progress): only the
  // wanted kernel's release and version end the wait.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(ssh.boot_timeout_seconds);
  std::string last_answer = "no answer";
  while (true) {
    auto running = ask_running(machine);
    if (running) {
      bool fresh = running->boot_id.empty() || running->boot_id != old_boot;
      if (fresh && running->kernel == wanted) return {};
      last_answer = "it runs " + describe(running->kernel) +
                    (fresh ? "" : ", still in the boot from before the command");
    } else {
      last_answer = running.error().what();
    }
    if (interrupted()) return fail("interrupted while waiting for {}", machine.machine());
    if (std::chrono::steady_clock::now() + kPollInterval > deadline) {
      return fail("{} did not come up with the {} kernel ({}) within {} s; {}", machine.machine(),
                  kernel.name, describe(wanted), ssh.boot_timeout_seconds, last_answer);
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace

Result<WallTiming> parse_wall_timing(const std::string& output) {
  size_t at = output.rfind("KPGO-BENCH ");
  if (at == std::string::npos) return fail("no timing line in its output");
  std::istringstream fields(output.substr(at + 11));
  std::string start, end;
  WallTiming timing;
  fields >> start >> end >> timing.status;
  auto digits = [](const std::string& s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
  };
  if (!fields || !digits(start) || !digits(end)) {
    return fail("its clock gave '{} {}': date +%s%N must print nanoseconds there (GNU date)", start,
                end);
  }
  uint64_t s = std::stoull(start), e = std::stoull(end);
  if (e < s) return fail("its clock went back during the workload ({} to {})", start, end);
  timing.ns = e - s;
  return timing;
}

Result<> run_ssh_rounds(const BenchOptions& options, const BenchKernels& kernels,
                        ProcessRunner& runner, pipeline::Manifest& manifest,
                        pipeline::BenchState& outcome) {
  const SshBenchOptions& ssh = *options.ssh;
  KPGO_TRY_BIND(host, targets::parse_ssh_host(ssh.host));
  auto machine = targets::ssh_transport(*host, runner, ssh.ssh_options);
  outcome.machine = machine->machine();
  outcome.method = "ssh: wall time of each workload, read on the machine (date +%s%N)";
  outcome.metrics = {{"wall_ns", "nanoseconds", "wall time of the workload on the machine"}};

  std::vector<kernel::KernelIdentity> identities;
  for (const auto& kernel : kernels) {
    KPGO_TRY_BIND(identity, kernel::read_bzimage_identity(kernel.bzimage));
    for (size_t other = 0; other < identities.size(); ++other) {
      if (identities[other] == *identity) {
        spdlog::warn(
            "the {} and {} kernels both say '{}': kpgo cannot tell which one booted and "
            "trusts the boot command",
            kernels[other].name, kernel.name, describe(*identity));
      }
    }
    identities.push_back(*identity);
  }

  for (unsigned round = 1; round <= options.rounds; ++round) {
    for (size_t slot = 0; slot < kernels.size(); ++slot) {
      const BenchKernel& kernel = kernel_for(kernels, round, slot);
      const auto& wanted = identities[&kernel - kernels.data()];
      spdlog::info("round {} of {}: booting the {} kernel on {}", round, options.rounds,
                   kernel.name, machine->machine());
      auto started = std::chrono::steady_clock::now();
      fs::path log =
          manifest.workdir() / "logs" / fmt::format("bench-{}-{}-boot.log", kernel.name, round);
      KPGO_TRY(boot(ssh, kernel, wanted, *machine, log, runner));
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      outcome.variants[kernel.index].boot_seconds.push_back(seconds);

      for (size_t w = 0; w < options.workloads.size(); ++w) {
        const auto& workload = options.workloads[w];
        KPGO_TRY_BIND(
            ran, machine->run(kTimedRun, workload.script, std::nullopt, options.timeout_seconds));
        if (ran->timed_out) {
          return fail("workload {} timed out on the {} kernel on {}", workload.name, kernel.name,
                      machine->machine());
        }
        auto timing = parse_wall_timing(ran->out);
        if (!timing) {
          return fail("workload {} on {}: {}{}", workload.name, machine->machine(),
                      timing.error().what(),
                      ran->err.empty() ? "" : "; ssh said: " + first_line(ran->err));
        }
        if (timing->status != 0) {
          return fail("workload {} failed on the {} kernel on {} (exit {}); its last lines:\n{}",
                      workload.name, kernel.name, machine->machine(), timing->status, ran->err);
        }
        outcome.workloads[w].figures["wall_ns"][kernel.name].push_back(timing->ns);
      }
    }
  }
  return {};
}

}  // namespace kpgo::bench
