// SPDX-License-Identifier: MIT
#pragma once

// What kpgo does when a signal comes, wherever it is: every child process group is signalled too
// (several run at once when collect works on many hosts), every temporary file kpgo is writing
// is removed, and an existing output is left as it was.
//   SIGINT, SIGTERM, SIGHUP with children running: forwarded to them; the code waiting for them
//     sees interrupted(), cleans up and returns an error; kpgo exits 128 + the signal.
//   The same with no child running: temporaries removed, then kpgo ends by that signal (the
//     shell sees 130 for Ctrl-C, 143 for SIGTERM).
//   SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT (a crash, inside LLVM say): one "kpgo: error:
//     internal crash" line naming what kpgo was doing, temporaries removed, then the signal's
//     own end (a core dump where enabled).
// The handlers neither lock nor allocate: they read fixed tables of atomic slots.

#include <sys/types.h>

#include <string_view>

namespace kpgo {

// Installs the handlers; called once at startup, before anything is written or run.
void install_signal_handling();

// True once SIGINT, SIGTERM or SIGHUP came: long loops stop and report instead of going on.
bool interrupted();
// The signal that interrupted kpgo, or 0.
int interrupting_signal();

// Holds a slot for a child's process group while it runs, so signals reach it. With the table
// full (over a thousand at once) registered() is false and the caller must not start work the
// signal could not stop.
class ChildGroupRegistration {
 public:
  explicit ChildGroupRegistration(pid_t group);
  ~ChildGroupRegistration();
  ChildGroupRegistration(const ChildGroupRegistration&) = delete;
  ChildGroupRegistration& operator=(const ChildGroupRegistration&) = delete;
  bool registered() const { return slot_ >= 0; }

 private:
  int slot_ = -1;
};

// Holds a slot for a temporary file while it exists, so a signal removes it.
class TemporaryFileRegistration {
 public:
  explicit TemporaryFileRegistration(std::string_view path);
  ~TemporaryFileRegistration();
  TemporaryFileRegistration(TemporaryFileRegistration&& other) noexcept;
  TemporaryFileRegistration& operator=(TemporaryFileRegistration&&) = delete;
  TemporaryFileRegistration(const TemporaryFileRegistration&) = delete;

 private:
  int slot_ = -1;
};

// What kpgo is doing, for the crash line ("merging 3 inputs: a.profraw, ..."); the text is
// copied into a fixed buffer. Scoped: the previous activity comes back when it ends.
class CurrentActivity {
 public:
  explicit CurrentActivity(std::string_view what);
  ~CurrentActivity();
  CurrentActivity(const CurrentActivity&) = delete;
  CurrentActivity& operator=(const CurrentActivity&) = delete;

 private:
  int previous_;
};

}  // namespace kpgo
