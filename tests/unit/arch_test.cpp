// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "kpgo/kernel/arch.hpp"
#include "kpgo/targets/initramfs.hpp"
#include "kpgo/targets/qemu.hpp"

namespace {

bool has(const std::vector<std::string>& argv, const std::string& word) {
  return std::find(argv.begin(), argv.end(), word) != argv.end();
}

}  // namespace

TEST(KernelArch, KbuildNamesPickImageAndFragment) {
  auto x86 = kpgo::kernel::kernel_arch("x86");
  ASSERT_TRUE(x86);
  EXPECT_EQ(x86->name, "x86_64");
  EXPECT_EQ(x86->image, "arch/x86/boot/bzImage");
  auto arm64 = kpgo::kernel::kernel_arch("arm64");
  ASSERT_TRUE(arm64);
  EXPECT_EQ(arm64->image, "arch/arm64/boot/Image");
  EXPECT_EQ(arm64->qemu_fragment, "qemu-arm64.config");
  auto riscv = kpgo::kernel::kernel_arch("riscv");
  ASSERT_FALSE(riscv);
  EXPECT_NE(riscv.error().what().find("ARCH=riscv: kpgo builds kernels for x86_64, arm64"),
            std::string::npos)
      << riscv.error().what();
}

TEST(QemuCommand, EachArchGetsItsMachineAndConsole) {
  kpgo::targets::QemuOptions options;
  options.kernel = "Image";
  options.cpus = 2;
  options.arch = "arm64";
  auto arm64 = kpgo::targets::qemu_command(options, "initramfs.cpio", "out.img", 60);
  EXPECT_EQ(arm64.argv.front(), "qemu-system-aarch64");
  EXPECT_TRUE(has(arm64.argv, "virt,gic-version=3"));
  EXPECT_TRUE(has(arm64.argv, "max"));
  EXPECT_TRUE(has(arm64.argv, "console=ttyAMA0 panic=-1 quiet"));
  EXPECT_TRUE(has(arm64.argv, "2"));
  options.arch = "x86_64";
  auto x86 = kpgo::targets::qemu_command(options, "initramfs.cpio", "out.img", 60);
  EXPECT_EQ(x86.argv.front(), "qemu-system-x86_64");
  EXPECT_TRUE(has(x86.argv, "console=ttyS0 panic=-1 quiet"));
  EXPECT_TRUE(has(x86.argv, "2,sockets=2,cores=1,threads=1"));
  EXPECT_FALSE(has(x86.argv, "-M"));
  EXPECT_FALSE(has(x86.argv, "-cpu")) << "x86_64 keeps QEMU's own CPU model";
  EXPECT_FALSE(has(x86.argv, "-plugin"));
  EXPECT_FALSE(has(x86.argv, "-seed"));
  options.icount = true;
  auto repeatable = kpgo::targets::qemu_command(options, "initramfs.cpio", "out.img", 60);
  EXPECT_TRUE(has(repeatable.argv, "shift=0,sleep=off"));
  EXPECT_TRUE(has(repeatable.argv, "-seed")) << "the guest's random numbers repeat too";
}

TEST(QemuCommand, TheUsersCpuModelAndAPluginGoToQemu) {
  kpgo::targets::QemuOptions options;
  options.kernel = "Image";
  options.arch = "arm64";
  options.cpu = "cortex-a57";
  options.plugin = "/lib/meter.so,out=/m";
  auto argv = kpgo::targets::qemu_command(options, "initramfs.cpio", "out.img", 60).argv;
  auto cpu = std::find(argv.begin(), argv.end(), "-cpu");
  ASSERT_NE(cpu, argv.end());
  EXPECT_EQ(*(cpu + 1), "cortex-a57");
  EXPECT_EQ(std::count(argv.begin(), argv.end(), "-cpu"), 1) << "the default model is replaced";
  auto plugin = std::find(argv.begin(), argv.end(), "-plugin");
  ASSERT_NE(plugin, argv.end());
  EXPECT_EQ(*(plugin + 1), "/lib/meter.so,out=/m");
}

namespace {

// A QEMU that exits at once having printed nothing, as a kernel that hangs before its console
// comes up looks once QEMU is stopped.
class SilentQemu final : public kpgo::ProcessRunner {
 public:
  kpgo::Result<kpgo::ProcessOutput> capture(const kpgo::Command& command) override {
    if (command.stdout_file) std::ofstream(*command.stdout_file).close();
    return kpgo::ProcessOutput{};
  }
  kpgo::Result<kpgo::ProcessOutput> stream(const kpgo::Command& command,
                                           const kpgo::LineSink&) override {
    return capture(command);
  }
};

}  // namespace

TEST(QemuGuest, AGuestThatPrintsNothingIsReportedNotThrown) {
  auto scratch = std::filesystem::temp_directory_path() / "kpgo-silent-guest-test";
  std::filesystem::remove_all(scratch);
  kpgo::targets::Initramfs image;
  image.add_file("init", "#!/bin/sh\n", 0755);
  kpgo::targets::QemuOptions options;
  options.kernel = "Image";
  options.output_disk = false;
  SilentQemu qemu;
  auto booted = kpgo::targets::run_guest(options, image, scratch, 60, qemu);
  std::filesystem::remove_all(scratch);
  ASSERT_FALSE(booted);
  EXPECT_NE(booted.error().what().find("the guest printed nothing"), std::string::npos)
      << booted.error().what();
}
