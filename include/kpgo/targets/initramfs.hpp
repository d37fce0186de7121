// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "kpgo/system/error.hpp"

namespace kpgo::targets {

// An initramfs in the kernel's "newc" cpio format, built from entries in memory and files.
class Initramfs {
 public:
  void add_directory(const std::string& path);
  void add_file(const std::string& path, std::string content, unsigned mode = 0644);
  Result<> add_host_file(const std::string& path, const std::filesystem::path& source,
                         unsigned mode = 0);
  // A host directory's tree under `path` (whose parents must be added first), in name order;
  // symbolic links are left out (modules_install's build and source links point to the host).
  Result<> add_host_tree(const std::string& path, const std::filesystem::path& source);
  Result<> write(const std::filesystem::path& out) const;

 private:
  struct Entry {
    std::string path;
    unsigned mode;
    std::string content;
  };
  std::vector<Entry> entries_;
};

// A statically linked busybox for guests of `arch` (kbuild's name) to run as their userland: the
// host's own (busybox-static) for the host's arch; for another, the one scripts/setup.sh unpacks
// from Debian's busybox-static of that arch into /usr/local/lib/kpgo/ARCH/busybox (it cannot be
// installed beside the host's).
Result<std::filesystem::path> static_busybox(const std::string& arch);

}  // namespace kpgo::targets
