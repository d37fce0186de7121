// SPDX-License-Identifier: MIT
#include "kpgo/system/signals.hpp"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>

namespace kpgo {

namespace {

// Fixed tables: a handler may run at any instruction of any thread, so it may only load atomics
// and make async-signal-safe calls (kill, unlink, write, raise).
constexpr size_t kSlots = 1024;
std::array<std::atomic<pid_t>, kSlots> g_child_groups{};
std::array<std::atomic<char*>, kSlots> g_temporaries{};
std::atomic<int> g_interrupting_signal{0};
static_assert(std::atomic<pid_t>::is_always_lock_free && std::atomic<char*>::is_always_lock_free);

constexpr size_t kActivities = 16;
constexpr size_t kActivityLength = 480;
char g_activity_text[kActivities][kActivityLength];
std::atomic<int> g_activity{-1};
std::atomic<unsigned> g_activity_next{0};

template <typename T>
int take_slot(std::array<std::atomic<T>, kSlots>& table, T value) {
  for (size_t i = 0; i < kSlots; ++i) {
    T empty{};
    if (table[i].compare_exchange_strong(empty, value)) return static_cast<int>(i);
  }
  return -1;
}

void remove_temporaries() {
  for (auto& slot : g_temporaries) {
    char* path = slot.load();
    if (path) ::unlink(path);
  }
}

void write_stderr(const char* text) {
  size_t length = std::strlen(text);
  while (length > 0) {
    ssize_t n = ::write(STDERR_FILENO, text, length);
    if (n <= 0) return;
    text += n;
    length -= static_cast<size_t>(n);
  }
}

// Ends kpgo by `signo` itself, as if no handler had been there: the parent sees the signal.
[[noreturn]] void end_by(int signo) {
  ::signal(signo, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signo);
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  ::raise(signo);
  ::_exit(128 + signo);
}

void on_interrupt(int signo) {
  int expected = 0;
  g_interrupting_signal.compare_exchange_strong(expected, signo);
  bool children = false;
  for (auto& slot : g_child_groups) {
    pid_t group = slot.load();
    if (group > 0) {
      ::kill(-group, signo);
      children = true;
    }
  }
  // With children, the code waiting for them sees the interruption and cleans up on its way
  // out; without, nothing would look, so kpgo cleans up and ends here.
  if (!children) {
    remove_temporaries();
    end_by(signo);
  }
}

void on_crash(int signo) {
  write_stderr("kpgo: error: internal crash (");
  write_stderr(::sigabbrev_np(signo) ? ::sigabbrev_np(signo) : "signal");
  int activity = g_activity.load();
  if (activity >= 0) {
    write_stderr(") while ");
    write_stderr(g_activity_text[activity]);
  } else {
    write_stderr(")");
  }
  write_stderr("; temporary files removed, existing outputs untouched\n");
  remove_temporaries();
  for (auto& slot : g_child_groups) {
    pid_t group = slot.load();
    if (group > 0) ::kill(-group, SIGTERM);
  }
  end_by(signo);
}

}  // namespace

void install_signal_handling() {
  struct sigaction action{};
  sigemptyset(&action.sa_mask);
  action.sa_handler = on_interrupt;
  for (int signo : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(signo, &action, nullptr);
  // A crash handler must not run on a stack that overflowed: give it its own.
  static char crash_stack[64 * 1024];
  stack_t stack{};
  stack.ss_sp = crash_stack;
  stack.ss_size = sizeof crash_stack;
  ::sigaltstack(&stack, nullptr);
  action.sa_handler = on_crash;
  action.sa_flags = SA_ONSTACK | SA_RESETHAND;
  for (int signo : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::sigaction(signo, &action, nullptr);
}

bool interrupted() {
  return g_interrupting_signal.load() != 0;
}
int interrupting_signal() {
  return g_interrupting_signal.load();
}

ChildGroupRegistration::ChildGroupRegistration(pid_t group)
    : slot_(take_slot(g_child_groups, group)) {}
ChildGroupRegistration::~ChildGroupRegistration() {
  if (slot_ >= 0) g_child_groups[static_cast<size_t>(slot_)].store(0);
}

TemporaryFileRegistration::TemporaryFileRegistration(std::string_view path) {
  char* copy = static_cast<char*>(std::malloc(path.size() + 1));
  if (!copy) return;
  std::memcpy(copy, path.data(), path.size());
  copy[path.size()] = '\0';
  slot_ = take_slot(g_temporaries, copy);
  if (slot_ < 0) std::free(copy);
}

TemporaryFileRegistration::TemporaryFileRegistration(TemporaryFileRegistration&& other) noexcept
    : slot_(other.slot_) {
  other.slot_ = -1;
}

TemporaryFileRegistration::~TemporaryFileRegistration() {
  if (slot_ < 0) return;
  // Out of the table first, so a handler never unlinks a freed name.
  char* path = g_temporaries[static_cast<size_t>(slot_)].exchange(nullptr);
  std::free(path);
}

CurrentActivity::CurrentActivity(std::string_view what) : previous_(g_activity.load()) {
  int index = static_cast<int>(g_activity_next.fetch_add(1) % kActivities);
  size_t length = std::min(what.size(), kActivityLength - 1);
  std::memcpy(g_activity_text[index], what.data(), length);
  g_activity_text[index][length] = '\0';
  g_activity.store(index);
}

CurrentActivity::~CurrentActivity() {
  g_activity.store(previous_);
}

}  // namespace kpgo
