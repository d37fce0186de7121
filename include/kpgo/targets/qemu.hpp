// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "kpgo/system/process.hpp"
#include "kpgo/targets/target.hpp"

namespace kpgo::targets {

struct QemuOptions {
  std::filesystem::path kernel;  // the boot image (x86_64: bzImage, arm64: Image)
  std::string arch = "x86_64";   // the kernel's, in kbuild's names: picks QEMU and the userland
  unsigned memory_mb = 1024;
  unsigned cpus = 2;
  // QEMU's -cpu model; empty: the arch's default (arm64: max, with LSE atomics; x86_64: QEMU's
  // own). E.g. cortex-a57 for an arm64 CPU without LSE.
  std::string cpu;
  std::string accel = "tcg";  // KVM guests hang on this machine class; tcg always works
  std::filesystem::path log;  // the guest's console
  // -icount shift=0,sleep=off: one guest instruction per virtual nanosecond, no idle time, so
  // guest clocks count instructions and runs repeat exactly.
  bool icount = false;
  // Results leave on a raw virtio disk (exact for binary data). Without it, they are read from
  // the console: a disk's I/O completes at host-timed moments, which a repeatable run avoids.
  bool output_disk = true;
  // The kernel's modules as modules_install put them (INSTALL_MOD_PATH): the guest gets them as
  // /lib/modules, modules.dep included, for workloads to modprobe. Empty: no modules.
  std::filesystem::path modules;
  // A TCG plugin and its arguments, as -plugin takes them (targets/meter.hpp); empty: none.
  std::string plugin;
  // More packages for the Debian userland (userland.hpp), which guests get when these or their
  // workloads name any; workloads that declare packages run in it, the others on busybox.
  std::vector<std::string> packages;
  std::filesystem::path userland_image;  // the Debian root's cpio archive, once built
};

class Initramfs;

// The architectures kpgo boots QEMU guests for (kbuild's names), and the QEMU binary of each.
std::vector<std::string> guest_arches();
std::string qemu_binary(const std::string& arch);
// clang's --target for programs that run in the guest of `arch`.
std::string guest_triple(const std::string& arch);
// The counter the guest stopwatch reads in a guest of `arch`, and its rate under -icount
// shift=0 (a virtual nanosecond per instruction; the idle guest's skipped time counts too).
std::string guest_clock(const std::string& arch);

// A guest that kpgo boots with an init of its own: busybox, the usual mounts, `body`, then its
// results (files under $out) leave on /dev/vda as a tar archive and the guest powers off.
std::string guest_init(const std::string& body);
// busybox of the guest's arch plus the init.
Result<Initramfs> guest_image(const std::string& init, const std::string& arch);
// The modules under `modules` (an INSTALL_MOD_PATH) as the image's /lib/modules.
Result<> add_guest_modules(Initramfs& image, const std::filesystem::path& modules);
// Boots options.kernel with `image` until its init is done and unpacks $out into
// `scratch`/kpgo-out. Returns the host's wall time of the boot, in seconds.
Result<double> run_guest(const QemuOptions& options, Initramfs& image,
                         const std::filesystem::path& scratch, unsigned timeout_seconds,
                         ProcessRunner& runner);

// Boots the kernel with an initramfs kpgo builds (busybox, the workload, its files, an init that
// does the runs) and takes the profiles out on a raw virtio disk the guest writes a tar archive
// to: exact for binary data, unlike a console.
class QemuTarget final : public Target {
 public:
  QemuTarget(QemuOptions options, ProcessRunner& runner);
  std::string describe() const override { return "qemu"; }
  Result<std::vector<RunOutcome>> collect(const CollectRequest& request) override;

  // The guest's /init for `runs` runs of /kpgo/workload.sh.
  static std::string init_script(unsigned runs);
  // Boots `kernel` with a one-line init that reports and powers off: a smoke test.
  static Result<> smoke_boot(const QemuOptions& options, const std::filesystem::path& scratch,
                             ProcessRunner& runner);

 private:
  QemuOptions options_;
  ProcessRunner& runner_;
};

Command qemu_command(const QemuOptions& options, const std::filesystem::path& initramfs,
                     const std::filesystem::path& disk, unsigned timeout_seconds);

}  // namespace kpgo::targets
