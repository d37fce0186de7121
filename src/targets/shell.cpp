// SPDX-License-Identifier: MIT
#include "kpgo/targets/shell.hpp"

#include <sstream>

#include <charconv>
#include <chrono>

#include <spdlog/spdlog.h>

namespace kpgo::targets {

namespace fs = std::filesystem;

std::string SshHost::display() const {
  std::string text = user.empty() ? host : user + "@" + host;
  return port ? text + ":" + std::to_string(port) : text;
}

Result<SshHost> parse_ssh_host(std::string_view text) {
  SshHost host;
  std::string_view rest = text;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    host.user = std::string(rest.substr(0, at));
    if (host.user.empty()) return fail("--ssh {}: empty user before @", text);
    rest.remove_prefix(at + 1);
  }
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return fail("--ssh {}: unclosed [", text);
    host.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fail("--ssh {}: expected :PORT after ]", text);
      port = rest.substr(1);
    }
  } else if (auto colon = rest.find(':'); colon != std::string_view::npos) {
    host.host = std::string(rest.substr(0, colon));
    port = rest.substr(colon + 1);
  } else {
    host.host = std::string(rest);
  }
  if (host.host.empty() || host.host.front() == '-' ||
      (!host.user.empty() && host.user.front() == '-')) {
    return fail("--ssh {}: expected [USER@]HOST[:PORT]", text);
  }
  if (!port.empty()) {
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), host.port);
    if (ec != std::errc() || end != port.data() + port.size() || host.port == 0 ||
        host.port > 65535) {
      return fail("--ssh {}: port '{}' is not a number from 1 to 65535", text, port);
    }
  }
  return host;
}

namespace {

Command with_io(Command command, const std::optional<fs::path>& stdin_file,
                const std::optional<fs::path>& stdout_file, unsigned timeout_seconds) {
  command.stdin_file = stdin_file;
  command.stdout_file = stdout_file;
  command.timeout_seconds = timeout_seconds;
  return command;
}

class SshTransport final : public Transport {
 public:
  SshTransport(SshHost host, ProcessRunner& runner, std::vector<std::string> extra)
      : host_(std::move(host)), runner_(runner), extra_(std::move(extra)) {}
  std::string machine() const override { return host_.display(); }
  Result<ProcessOutput> run(const std::string& command_line,
                            const std::optional<fs::path>& stdin_file,
                            const std::optional<fs::path>& stdout_file,
                            unsigned timeout_seconds) override {
    Command command{{"ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15"}};
    command.argv.insert(command.argv.end(), extra_.begin(), extra_.end());
    if (host_.port) command.argv.insert(command.argv.end(), {"-p", std::to_string(host_.port)});
    if (!host_.user.empty()) command.argv.insert(command.argv.end(), {"-l", host_.user});
    // ssh joins its remaining words into one line for the remote shell: pass exactly one,
    // already quoted by the caller.
    command.argv.insert(command.argv.end(), {"--", host_.host, command_line});
    spdlog::debug("{}", render_command(command));
    return runner_.capture(with_io(command, stdin_file, stdout_file, timeout_seconds));
  }

 private:
  SshHost host_;
  ProcessRunner& runner_;
  std::vector<std::string> extra_;
};

class LocalTransport final : public Transport {
 public:
  explicit LocalTransport(ProcessRunner& runner) : runner_(runner) {}
  std::string machine() const override { return "local"; }
  Result<ProcessOutput> run(const std::string& command_line,
                            const std::optional<fs::path>& stdin_file,
                            const std::optional<fs::path>& stdout_file,
                            unsigned timeout_seconds) override {
    return runner_.capture(
        with_io({{"/bin/sh", "-c", command_line}}, stdin_file, stdout_file, timeout_seconds));
  }

 private:
  ProcessRunner& runner_;
};

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

// What a failed remote command said, for the run's outcome.
std::string failure(const Result<ProcessOutput>& output, std::string_view step) {
  if (!output) return fmt::format("{}: {}", step, output.error().what());
  if (output->timed_out) return fmt::format("{}: timed out", step);
  std::string said = first_line(output->err);
  return fmt::format("{}: exit {}{}{}", step, output->exit_code, said.empty() ? "" : ": ", said);
}

}  // namespace

std::unique_ptr<Transport> ssh_transport(SshHost host, ProcessRunner& runner,
                                         std::vector<std::string> extra_options) {
  return std::make_unique<SshTransport>(std::move(host), runner, std::move(extra_options));
}

std::unique_ptr<Transport> local_transport(ProcessRunner& runner) {
  return std::make_unique<LocalTransport>(runner);
}

ShellTarget::ShellTarget(std::unique_ptr<Transport> transport, ProfileFiles files)
    : transport_(std::move(transport)), files_(std::move(files)) {}

Result<std::vector<fs::path>> ShellTarget::fetch_module_profiles(const fs::path& run_dir) {
  std::vector<fs::path> fetched;
  fs::path remote_dir = fs::path(files_.profile).parent_path();
  // Only kpgo's debugfs layout has module profiles beside vmlinux.profraw.
  if (fs::path(files_.profile).filename() != "vmlinux.profraw") return fetched;
  auto listed =
      transport_->run("ls " + shell_quote(remote_dir.string()), std::nullopt, std::nullopt, 60);
  if (!listed || !listed->succeeded())
    return fail("{}", failure(listed, "listing module profiles"));
  std::istringstream names(listed->out);
  for (std::string name; std::getline(names, name);) {
    if (name == "vmlinux.profraw" || fs::path(name).extension() != ".profraw") continue;
    std::string remote = (remote_dir / name).string();
    auto got = transport_->run("cat " + shell_quote(remote), std::nullopt, run_dir / name, 600);
    if (!got || !got->succeeded()) return fail("{}", failure(got, "reading " + remote));
    fetched.push_back(run_dir / name);
  }
  return fetched;
}

Result<std::vector<RunOutcome>> ShellTarget::collect(const CollectRequest& request) {
  std::error_code ec;
  std::string safe_name;
  for (char c : transport_->machine())
    safe_name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  fs::path scratch = request.scratch / safe_name;
  fs::create_directories(scratch, ec);

  auto release = transport_->run("uname -r", std::nullopt, std::nullopt, 60);
  if (!release || !release->succeeded()) {
    return fail("{}: cannot run commands there ({})", transport_->machine(),
                failure(release, "uname -r"));
  }
  std::string kernel_release = first_line(release->out);

  // request.timeout_seconds covers every run on this machine, as it does in a QEMU guest.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(request.timeout_seconds);
  std::vector<RunOutcome> outcomes;
  for (unsigned run = 1; run <= request.runs; ++run) {
    RunOutcome outcome;
    outcome.machine = transport_->machine();
    outcome.run = run;
    outcome.kernel_release = kernel_release;
    auto left =
        std::chrono::ceil<std::chrono::seconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      outcome.problem = fmt::format("not run: the timeout of {} s for all runs was used up",
                                    request.timeout_seconds);
      outcomes.push_back(std::move(outcome));
      continue;
    }
    auto reset =
        transport_->run("echo 1 > " + shell_quote(files_.reset), std::nullopt, std::nullopt, 60);
    if (!reset || !reset->succeeded()) {
      outcome.problem = failure(reset, "resetting the counters (" + files_.reset + ")");
      outcomes.push_back(std::move(outcome));
      continue;
    }
    auto start = std::chrono::steady_clock::now();
    auto workload = transport_->run("sh -s", request.workload.script, std::nullopt,
                                    static_cast<unsigned>(left.count()));
    outcome.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!workload || !workload->succeeded()) {
      outcome.problem = failure(workload, "the workload");
      outcomes.push_back(std::move(outcome));
      continue;
    }
    fs::path run_dir = scratch / ("run-" + std::to_string(run));
    fs::create_directories(run_dir, ec);
    fs::path local = run_dir / fs::path(files_.profile).filename();
    auto fetched = transport_->run("cat " + shell_quote(files_.profile), std::nullopt, local, 600);
    if (!fetched || !fetched->succeeded()) {
      outcome.problem = failure(fetched, "reading " + files_.profile);
      outcomes.push_back(std::move(outcome));
      continue;
    }
    outcome.profile = local;
    if (auto modules = fetch_module_profiles(run_dir); modules) {
      outcome.module_profiles = std::move(*modules);
    } else {
      outcome.problem = modules.error().what();
      outcome.profile.clear();
    }
    outcomes.push_back(std::move(outcome));
  }
  return outcomes;
}

}  // namespace kpgo::targets
