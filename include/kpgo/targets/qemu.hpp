// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>

#include "kpgo/system/process.hpp"
#include "kpgo/targets/target.hpp"

namespace kpgo::targets {

struct QemuOptions {
  std::filesystem::path kernel;  // bzImage
  unsigned memory_mb = 1024;
  unsigned cpus = 2;
  std::string accel = "tcg";     // KVM guests hang on this machine class; tcg always works
  std::filesystem::path log;     // the guest's console
};

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
