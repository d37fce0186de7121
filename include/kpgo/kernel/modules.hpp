// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "kpgo/kernel/build.hpp"
#include "kpgo/system/error.hpp"

namespace kpgo::kernel {

// A loadable module a build made.
struct BuiltModule {
  std::string name;            // as the kernel names it: the file's stem with '-' as '_'
  std::filesystem::path file;  // the .ko in the build directory
  std::string build_id;        // its GNU build ID, as the profile's binary ID carries it
};

// The kernel's name of a module file: fs/ext4/ext4.ko is "ext4", crc32c-generic.ko
// "crc32c_generic".
std::string module_name(const std::filesystem::path& file);

// The modules listed in the build's modules.order, each with its build ID. None when the build
// has no modules.order (CONFIG_MODULES off).
Result<std::vector<BuiltModule>> built_modules(const std::filesystem::path& build_dir);

// Which module each object belongs to: kbuild's MODULE.mod files list a module's objects
// (paths in the build, e.g. fs/ext4/super.o). Maps object path to module name.
std::map<std::string, std::string> module_objects(const std::vector<BuiltModule>& modules);

// Where `make modules_install INSTALL_MOD_PATH=...` puts a build's modules, for guests.
std::filesystem::path staged_modules_dir(const std::filesystem::path& build_dir);

// A built kernel's modules installed (depmod included) into staged_modules_dir, afresh, when
// the build made any. Returns that directory, or an empty path when there are no modules.
Result<std::filesystem::path> install_modules(const Kbuild& kbuild, ProcessRunner& runner,
                                              const BuildLog& log);

// The staged modules of a build directory, or an empty path when it has none.
std::filesystem::path staged_modules_of(const std::filesystem::path& build_dir);

}  // namespace kpgo::kernel
