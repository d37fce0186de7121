// SPDX-License-Identifier: MIT
#include "kpgo/targets/qemu.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "kpgo/system/files.hpp"
#include "kpgo/targets/initramfs.hpp"
#include "kpgo/targets/userland.hpp"

namespace kpgo::targets {

namespace fs = std::filesystem;

namespace {

constexpr const char* kDoneMarker = "KPGO-GUEST-DONE";
constexpr uint64_t kDiskBytes = 512ull << 20;

// The last `lines` lines of a console log (all of it when shorter), for an error message.
std::string tail_of(const fs::path& log, size_t lines) {
  std::string text = read_text_or_empty(log);
  if (text.empty()) return "(the guest printed nothing: it stopped before its console came up)";
  size_t start = text.size();
  // lines + 1 newlines back: the log's own last newline ends the last line.
  for (size_t n = 0; n <= lines; ++n) {
    if (start == 0) return text;
    size_t newline = text.rfind('\n', start - 1);
    if (newline == std::string::npos) return text;
    start = newline;
  }
  return text.substr(start + 1);
}

Result<> fresh_disk(const fs::path& disk) {
  std::error_code ec;
  fs::remove(disk, ec);
  std::ofstream(disk).close();
  fs::resize_file(disk, kDiskBytes, ec);  // sparse: costs nothing until written
  if (ec) return fail("cannot create {}: {}", disk.string(), ec.message());
  return {};
}

// Appends `tail`'s bytes to `file`.
Result<> append_file(const fs::path& file, const fs::path& tail) {
  std::ifstream in(tail, std::ios::binary);
  std::ofstream out(file, std::ios::binary | std::ios::app);
  if (!in || !out) return fail("cannot append {} to {}", tail.string(), file.string());
  out << in.rdbuf();
  out.flush();
  if (!out) return fail("cannot append {} to {}: disk full?", tail.string(), file.string());
  return {};
}

}  // namespace

// Runs a workload script in its directory. One that declares packages (userland.hpp) runs
// chrooted into the Debian userland the init mounted at /debian, with Debian's shell, tools and
// PATH; one that declares none runs on the initramfs's busybox.
constexpr const char* kRunInGuest = R"(#!/bin/sh
# run-in-guest DIR SCRIPT
if grep -q '^#[[:space:]]*kpgo-packages:' "$2"; then
  if [ ! -d /debian/usr/bin ]; then
    echo "run-in-guest: $2 declares packages, but this guest has no Debian userland" >&2
    exit 127
  fi
  exec chroot /debian /bin/sh -c \
    'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; cd "$1" && exec /bin/sh "$2"' \
    run-in-guest "$1" "$2"
fi
cd "$1" && exec sh "$2"
)";

// The guest's initramfs: busybox and the directories every init here mounts on, /kpgo with the
// workload runner, plus `init`.
Result<Initramfs> guest_image(const std::string& init, const std::string& arch) {
  KPGO_TRY_BIND(busybox, static_busybox(arch));
  Initramfs image;
  for (const char* dir : {"bin", "dev", "proc", "sys", "tmp", "kpgo"}) image.add_directory(dir);
  KPGO_TRY(image.add_host_file("bin/busybox", *busybox, 0755));
  image.add_file("kpgo/run-in-guest", kRunInGuest, 0755);
  image.add_file("init", init, 0755);
  return image;
}

Result<> add_guest_modules(Initramfs& image, const fs::path& modules) {
  if (modules.empty()) return {};
  fs::path tree = modules / "lib" / "modules";
  std::error_code ec;
  if (!fs::is_directory(tree, ec))
    return fail("{}: no modules there (is it a modules_install INSTALL_MOD_PATH?)", tree.string());
  image.add_directory("lib");
  return image.add_host_tree("lib/modules", tree);
}

std::string guest_init(const std::string& body) {
  return fmt::format(R"init(#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
# With modules: the kernel asks busybox for the ones it needs (crc32c for ext4, a filesystem
# for mount), and the disk results leave on may be a module.
[ -w /proc/sys/kernel/modprobe ] && echo /bin/modprobe > /proc/sys/kernel/modprobe
modprobe -q virtio_pci 2>/dev/null
modprobe -q virtio_blk 2>/dev/null
ip link set lo up 2>/dev/null
# A Debian userland, when the initramfs carries one at /debian: this guest's /proc, /sys, /dev,
# /tmp, /kpgo and the kernel's modules in it, for /kpgo/run-in-guest to chroot into.
if [ -d /debian/usr/bin ]; then
  for dir in proc sys dev tmp kpgo; do mount --bind /$dir /debian/$dir; done
  if [ -d /lib/modules ]; then
    mkdir -p /debian/lib/modules
    mount --bind /lib/modules /debian/lib/modules
  fi
fi
out=/tmp/kpgo-out
mkdir -p $out /tmp/work
uname -r > $out/release
{body}
[ -b /dev/vda ] && tar -cf /dev/vda -C /tmp kpgo-out
sync
echo {done}
reboot -f
)init",
                     fmt::arg("body", body), fmt::arg("done", kDoneMarker));
}

Result<double> run_guest(const QemuOptions& options, Initramfs& image, const fs::path& scratch,
                         unsigned timeout_seconds, ProcessRunner& runner) {
  std::error_code ec;
  fs::remove_all(scratch / "kpgo-out", ec);
  fs::create_directories(scratch, ec);
  fs::path initramfs = scratch / "initramfs.cpio";
  fs::path disk = scratch / "out.img";
  KPGO_TRY(image.write(initramfs));
  // The Debian userland, a cpio archive of its own, goes after kpgo's: the kernel unpacks
  // concatenated archives one after the other.
  if (!options.userland_image.empty()) KPGO_TRY(append_file(initramfs, options.userland_image));
  if (options.output_disk) {
    KPGO_TRY(fresh_disk(disk));
  }

  QemuOptions boot_options = options;
  if (boot_options.log.empty()) boot_options.log = scratch / "console.log";
  Command boot = qemu_command(boot_options, initramfs, disk, timeout_seconds);
  spdlog::debug("{}", render_command(boot));
  auto started = std::chrono::steady_clock::now();
  auto booted = runner.capture(boot);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!booted) return tl::unexpected(booted.error());
  if (booted->timed_out) {
    return fail("the guest did not finish in {} s (--timeout); console {}:\n{}", timeout_seconds,
                boot_options.log.string(), tail_of(boot_options.log, 15));
  }
  if (read_text_or_empty(boot_options.log).find(kDoneMarker) == std::string::npos) {
    return fail("the guest stopped before it was done; console {}:\n{}", boot_options.log.string(),
                tail_of(boot_options.log, 20));
  }
  if (!options.output_disk) return seconds;
  auto unpacked = runner.capture({{"tar", "-xf", disk.string(), "-C", scratch.string()}});
  if (!unpacked || !unpacked->succeeded()) {
    return fail("the guest's results on {} cannot be read: {}", disk.string(),
                unpacked ? unpacked->err : unpacked.error().what());
  }
  return seconds;
}

QemuTarget::QemuTarget(QemuOptions options, ProcessRunner& runner)
    : options_(std::move(options)), runner_(runner) {}

namespace {

// The machine QEMU emulates for a kernel of each arch.
struct GuestMachine {
  std::string_view arch;
  std::string_view qemu;
  std::vector<std::string> machine;  // what picks the board
  std::string_view cpu;              // -cpu unless the user picks one; empty: QEMU's default
  std::string_view console;
  bool smp_sockets;         // one CPU per socket
  std::string_view triple;  // clang's --target for the guest's own programs
  std::string_view clock;   // the counter guest/stopwatch.c reads, under -icount shift=0
};

const std::vector<GuestMachine>& guest_machines() {
  static const std::vector<GuestMachine> machines = {
      // One CPU per socket: a kernel without ACPI finds CPUs in the BIOS MP table, which lists
      // one per socket.
      {"x86_64",
       "qemu-system-x86_64",
       {},
       "",
       "ttyS0",
       true,
       "x86_64-linux-gnu",
       "the time stamp counter: one tick per virtual nanosecond"},
      // The generic virt board (GICv3 and PCIe, described to the kernel by a device tree) with
      // every feature TCG emulates, LSE atomics among them; its serial port is a PL011.
      {"arm64",
       "qemu-system-aarch64",
       {"-M", "virt,gic-version=3"},
       "max",
       "ttyAMA0",
       false,
       "aarch64-linux-gnu",
       "the virtual counter CNTVCT_EL0 at 62.5 MHz: one tick per 16 virtual nanoseconds"},
  };
  return machines;
}

const GuestMachine& guest_machine(const std::string& arch) {
  for (const auto& machine : guest_machines()) {
    if (machine.arch == arch) return machine;
  }
  return guest_machines().front();  // kernel_arch() refused any other arch before a guest was built
}

}  // namespace

std::vector<std::string> guest_arches() {
  std::vector<std::string> arches;
  for (const auto& machine : guest_machines()) arches.emplace_back(machine.arch);
  return arches;
}

std::string qemu_binary(const std::string& arch) {
  return std::string(guest_machine(arch).qemu);
}

std::string guest_triple(const std::string& arch) {
  return std::string(guest_machine(arch).triple);
}

std::string guest_clock(const std::string& arch) {
  return std::string(guest_machine(arch).clock);
}

Command qemu_command(const QemuOptions& options, const fs::path& initramfs, const fs::path& disk,
                     unsigned timeout_seconds) {
  const GuestMachine& guest = guest_machine(options.arch);
  std::string smp = guest.smp_sockets
                        ? fmt::format("{0},sockets={0},cores=1,threads=1", options.cpus)
                        : std::to_string(options.cpus);
  Command command{{std::string(guest.qemu)}};
  command.argv.insert(command.argv.end(), guest.machine.begin(), guest.machine.end());
  std::string cpu = options.cpu.empty() ? std::string(guest.cpu) : options.cpu;
  if (!cpu.empty()) command.argv.insert(command.argv.end(), {"-cpu", cpu});
  command.argv.insert(
      command.argv.end(),
      {"-accel", options.accel, "-m", std::to_string(options.memory_mb), "-smp", smp, "-nographic",
       "-no-reboot", "-kernel", options.kernel.string(), "-initrd", initramfs.string(), "-append",
       fmt::format("console={} panic=-1 quiet", guest.console)});
  if (options.output_disk) {
    command.argv.insert(command.argv.end(),
                        {"-drive", "file=" + disk.string() + ",format=raw,if=virtio"});
  }
  // The guest's real-time clock from the virtual clock too, so that nothing the guest reads
  // depends on the host's time and runs repeat instruction for instruction.
  // And the guest's random numbers from a fixed seed (arm64's RNDR with -cpu max, the virt
  // board's device-tree seeds): from the host's, the arm64 kernel's rounds differed by up to
  // 0.5% in kernel instructions.
  if (options.icount) {
    command.argv.insert(command.argv.end(), {"-icount", "shift=0,sleep=off", "-rtc",
                                             "base=2024-01-01T00:00:00,clock=vm", "-seed", "1"});
  }
  if (!options.plugin.empty()) command.argv.insert(command.argv.end(), {"-plugin", options.plugin});
  command.stdout_file = options.log;
  command.timeout_seconds = timeout_seconds;
  return command;
}

std::string QemuTarget::init_script(unsigned runs) {
  // {runs} runs of /kpgo/workload.sh, each after a counter reset, each profile read right after:
  // vmlinux's and every module's (those unloaded during the run included) into run-N/.
  return guest_init(fmt::format(R"(pgo=/sys/kernel/debug/pgo
cp -r /kpgo/files/. /tmp/work/ 2>/dev/null
run=1
while [ $run -le {runs} ]; do
  if [ ! -e $pgo/vmlinux.profraw ]; then
    echo "no $pgo/vmlinux.profraw: not a kernel with clang PGO support" > $out/run-$run.error
  else
    echo 1 > $pgo/reset
    start=$(cut -d' ' -f1 /proc/uptime)
    sh /kpgo/run-in-guest /tmp/work /kpgo/workload.sh > $out/run-$run.log 2>&1
    status=$?
    end=$(cut -d' ' -f1 /proc/uptime)
    mkdir -p $out/run-$run
    for profile in $pgo/*.profraw; do
      cat $profile > $out/run-$run/${{profile##*/}} || echo "reading $profile failed" > $out/run-$run.error
    done
    cat $pgo/values > $out/run-$run.values 2>/dev/null
    echo "$status $start $end" > $out/run-$run.status
  fi
  run=$((run + 1))
done)",
                                fmt::arg("runs", runs)));
}

Result<std::vector<RunOutcome>> QemuTarget::collect(const CollectRequest& request) {
  std::error_code ec;
  if (!fs::exists(options_.kernel, ec))
    return fail("{}: no such kernel image", options_.kernel.string());
  fs::path scratch = request.scratch / "qemu";
  fs::remove_all(scratch, ec);
  fs::create_directories(scratch, ec);

  QemuOptions options = options_;
  KPGO_TRY(attach_userland(options, {request.workload}, runner_));
  KPGO_TRY_BIND(base, guest_image(init_script(request.runs), options.arch));
  Initramfs& image = *base;
  image.add_directory("kpgo/files");
  KPGO_TRY(add_guest_modules(image, options_.modules));
  KPGO_TRY(image.add_host_file("kpgo/workload.sh", request.workload.script, 0755));
  for (const auto& file : request.workload.files) {
    if (fs::is_directory(file, ec))
      return fail("--file {}: a directory; name files", file.string());
    KPGO_TRY(image.add_host_file("kpgo/files/" + file.filename().string(), file));
  }
  KPGO_TRY_BIND(booted, run_guest(options, image, scratch, request.timeout_seconds, runner_));
  fs::path out = scratch / "kpgo-out";
  std::string release = read_text_or_empty(out / "release");
  if (!release.empty() && release.back() == '\n') release.pop_back();

  std::vector<RunOutcome> outcomes;
  for (unsigned run = 1; run <= request.runs; ++run) {
    RunOutcome outcome;
    outcome.machine = "qemu";
    outcome.run = run;
    outcome.kernel_release = release;
    auto stem = out / ("run-" + std::to_string(run));
    std::string error = read_text_or_empty(stem.string() + ".error");
    std::istringstream status(read_text_or_empty(stem.string() + ".status"));
    int exit_code = -1;
    double start = 0, end = 0;
    status >> exit_code >> start >> end;
    outcome.seconds = end - start;
    if (!error.empty()) {
      outcome.problem = error.substr(0, error.find('\n'));
    } else if (exit_code != 0) {
      outcome.problem = fmt::format("the workload exited with {}; its output: {}", exit_code,
                                    (stem.string() + ".log"));
    } else {
      outcome.profile = stem / "vmlinux.profraw";
      for (const auto& entry : fs::directory_iterator(stem, ec)) {
        if (entry.path().extension() == ".profraw" && entry.path() != outcome.profile)
          outcome.module_profiles.push_back(entry.path());
      }
      std::sort(outcome.module_profiles.begin(), outcome.module_profiles.end());
      outcome.value_stats = read_text_or_empty(stem.string() + ".values");
    }
    outcomes.push_back(std::move(outcome));
  }
  return outcomes;
}

Result<> QemuTarget::smoke_boot(const QemuOptions& options, const fs::path& scratch,
                                ProcessRunner& runner) {
  // An init that only says it got there: the kernel booted as far as user space.
  KPGO_TRY_BIND(image, guest_image(fmt::format("#!/bin/busybox sh\n/bin/busybox mount -t proc proc "
                                               "/proc\necho {} $(/bin/busybox uname -r)\n"
                                               "/bin/busybox reboot -f\n",
                                               kDoneMarker),
                                   options.arch));
  QemuOptions boot_options = options;
  boot_options.output_disk = false;
  if (boot_options.log.empty()) boot_options.log = scratch / "smoke" / "console.log";
  KPGO_TRY(run_guest(boot_options, *image, scratch / "smoke", 300, runner)
               .map_error(context(fmt::format("smoke boot of {}", options.kernel.string()))));
  return {};
}

}  // namespace kpgo::targets
