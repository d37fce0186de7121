// SPDX-License-Identifier: MIT
#include "kpgo/system/process.hpp"
#include "kpgo/system/signals.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>

extern char** environ;

namespace kpgo {

namespace {

std::vector<std::string> merged_environment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view item(*entry);
    auto eq = item.find('=');
    if (eq != std::string_view::npos && extra.count(std::string(item.substr(0, eq)))) continue;
    env.emplace_back(item);
  }
  for (const auto& [key, value] : extra) env.push_back(key + "=" + value);
  return env;
}

// After Ctrl-C the forwarded signal may not end a child: a shell's background jobs ignore
// SIGINT, and a program may catch it. So a group still running 1 s later gets SIGTERM, and
// 3 s later SIGKILL: every child is gone within 5 s of the interruption.
class InterruptEscalation {
 public:
  // Sends what is due to `group`; returns how long to wait before looking again (ms).
  int step(pid_t group) {
    auto now = std::chrono::steady_clock::now();
    if (!since_) since_ = now;
    auto waited = now - *since_;
    if (sent_ < 1 && waited >= std::chrono::seconds(1)) {
      ::kill(-group, SIGTERM);
      sent_ = 1;
    }
    if (sent_ < 2 && waited >= std::chrono::seconds(3)) {
      ::kill(-group, SIGKILL);
      sent_ = 2;
    }
    return 100;
  }

 private:
  std::optional<std::chrono::steady_clock::time_point> since_;
  int sent_ = 0;
};

class SystemRunner final : public ProcessRunner {
 public:
  Result<ProcessOutput> capture(const Command& command) override { return run(command, nullptr); }
  Result<ProcessOutput> stream(const Command& command, const LineSink& sink) override {
    return run(command, &sink);
  }

 private:
  Result<ProcessOutput> run(const Command& command, const LineSink* sink) {
    if (command.argv.empty()) return fail("internal: empty command");
    int out_pipe[2];
    int err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
      return fail("cannot create pipes for {}: {}", command.argv[0], std::strerror(errno));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (command.stdout_file) {
      posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, command.stdout_file->c_str(),
                                       O_WRONLY | O_CREAT | O_TRUNC, 0644);
    } else {
      posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    }
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO,
                                     command.stdin_file ? command.stdin_file->c_str() : "/dev/null",
                                     O_RDONLY, 0);
    if (command.cwd) posix_spawn_file_actions_addchdir_np(&actions, command.cwd->c_str());
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attributes, 0);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int signo : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) sigaddset(&defaults, signo);
    posix_spawnattr_setsigdefault(&attributes, &defaults);

    std::vector<char*> argv;
    for (const auto& word : command.argv) argv.push_back(const_cast<char*>(word.c_str()));
    argv.push_back(nullptr);
    auto env_strings = merged_environment(command.env);
    std::vector<char*> envp;
    for (auto& item : env_strings) envp.push_back(item.data());
    envp.push_back(nullptr);

    pid_t pid = 0;
    int rc = ::posix_spawnp(&pid, argv[0], &actions, &attributes, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (rc != 0) {
      ::close(out_pipe[0]);
      ::close(err_pipe[0]);
      return fail("cannot run {}: {}", command.argv[0], std::strerror(rc));
    }
    ChildGroupRegistration slot(pid);
    // A signal that came before the slot was taken did not reach this child; nor will one that
    // comes later when the table is full (over a thousand children at once): end it now.
    if (interrupted() || !slot.registered()) ::kill(-pid, SIGTERM);

    ProcessOutput output;
    std::string pending[2];
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    int open_count = 2;
    char buffer[65536];
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(command.timeout_seconds);
    InterruptEscalation escalation;
    while (open_count > 0) {
      // Woken at least once a second, to see an interruption that landed in another thread.
      int wait_ms = 1000;
      if (interrupted()) wait_ms = escalation.step(pid);
      if (command.timeout_seconds) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
          // Out of time: the whole group goes, so that nothing it started lingers.
          output.timed_out = true;
          ::kill(-pid, SIGKILL);
          wait_ms = 1000;
        } else {
          wait_ms = static_cast<int>(std::min<long long>(left.count(), wait_ms));
        }
      }
      int ready = ::poll(fds, 2, wait_ms);
      if (ready < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (ready == 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) continue;
        ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          ::close(fds[i].fd);
          fds[i].fd = -1;
          --open_count;
          continue;
        }
        std::string_view chunk(buffer, static_cast<size_t>(n));
        if (!sink) {
          (i == 0 ? output.out : output.err).append(chunk);
          continue;
        }
        pending[i].append(chunk);
        size_t start = 0;
        for (size_t nl; (nl = pending[i].find('\n', start)) != std::string::npos; start = nl + 1) {
          (*sink)(std::string_view(pending[i]).substr(start, nl - start));
        }
        pending[i].erase(0, start);
      }
    }
    if (sink) {
      for (auto& rest : pending) {
        if (!rest.empty()) (*sink)(rest);
      }
    }
    int status = 0;
    struct rusage usage{};
    while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    output.peak_memory_kib = static_cast<uint64_t>(usage.ru_maxrss);
    if (WIFSIGNALED(status)) {
      output.signal = WTERMSIG(status);
    } else {
      output.exit_code = WEXITSTATUS(status);
    }
    return output;
  }
};

}  // namespace

ProcessRunner& system_runner() {
  static SystemRunner runner;
  return runner;
}

std::string shell_quote(std::string_view word) {
  if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789@%+=:,./-_") == std::string_view::npos) {
    return std::string(word);
  }
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

std::string render_command(const Command& command) {
  if (!command.argv.empty() && command.argv[0] == "#") {
    std::string comment = "#";
    for (size_t i = 1; i < command.argv.size(); ++i) comment += " " + command.argv[i];
    return comment;
  }
  std::string text;
  if (command.cwd) text = "cd " + shell_quote(command.cwd->string()) + " && ";
  for (const auto& [key, value] : command.env) text += key + "=" + shell_quote(value) + " ";
  for (size_t i = 0; i < command.argv.size(); ++i) {
    if (i) text += ' ';
    text += shell_quote(command.argv[i]);
  }
  return text;
}

std::optional<std::filesystem::path> find_program(std::string_view name) {
  namespace fs = std::filesystem;
  auto runnable = [](const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string_view::npos) {
    fs::path p(name);
    if (runnable(p)) return p;
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    auto colon = dirs.find(':');
    auto dir = dirs.substr(0, colon);
    fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / std::string(name);
    if (runnable(candidate)) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

}  // namespace kpgo
