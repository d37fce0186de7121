# SPDX-License-Identifier: MIT
# Boots test kernels in QEMU (TCG) with a busybox initramfs; files come back on a raw virtio
# disk the guest writes a tar archive to, which is exact for binary data. GUEST_ARCH (kbuild's
# name, default x86_64) picks the machine and the busybox: arm64 guests run on QEMU's virt board
# with the arm64 busybox that scripts/setup.sh unpacks, on GUEST_CPU (default max; e.g.
# cortex-a57, a CPU without LSE atomics).
GUEST_ARCH=${GUEST_ARCH:-x86_64}
guest_busybox() {
  case $GUEST_ARCH in
    x86_64) echo /bin/busybox ;;
    *) echo "/usr/local/lib/kpgo/$GUEST_ARCH/busybox" ;;
  esac
}

# make_initramfs [--modules DIR] OUT INIT [FILE...]: busybox, the init script and extra files in
# /; with --modules, DIR/lib/modules (a modules_install INSTALL_MOD_PATH) as /lib/modules.
make_initramfs() {
  local modules=
  if [[ $1 == --modules ]]; then
    modules=$2
    shift 2
  fi
  local out=$1 init=$2
  shift 2
  local root
  root=$(mktemp -d "$WORK/initramfs-XXXXXX")
  mkdir -p "$root"/{bin,dev,proc,sys,tmp}
  [[ -z $modules ]] || cp -r "$modules/lib" "$root/lib"
  cp "$(guest_busybox)" "$root/bin/busybox"
  install -m 755 "$init" "$root/init"
  for file in "$@"; do cp "$file" "$root/"; done
  (cd "$root" && find . | cpio -o -H newc --quiet) > "$out"
}

# boot_guest BZIMAGE INITRAMFS DISK CPUS LOG: boots until the guest reboots; the disk is fresh.
boot_guest() {
  local kernel=$1 initramfs=$2 disk=$3 cpus=$4 log=$5
  rm -f "$disk"
  truncate -s 256M "$disk"
  local machine
  case $GUEST_ARCH in
    # One CPU per socket: without ACPI the kernel finds CPUs in the BIOS MP table, which lists
    # one per socket.
    x86_64) machine=(qemu-system-x86_64 -smp "$cpus,sockets=$cpus,cores=1,threads=1" -append "console=ttyS0 panic=-1") ;;
    arm64) machine=(qemu-system-aarch64 -M virt,gic-version=3 -cpu "${GUEST_CPU:-max}" -smp "$cpus" -append "console=ttyAMA0 panic=-1") ;;
  esac
  timeout 900 "${machine[@]}" -accel tcg -m 1024 -nographic -no-reboot \
    -kernel "$kernel" -initrd "$initramfs" -drive "file=$disk,format=raw,if=virtio" > "$log" 2>&1 || true
}

# unpack_guest_disk DISK DIR: what the guest archived.
unpack_guest_disk() {
  mkdir -p "$2"
  tar -xf "$1" -C "$2"
}
