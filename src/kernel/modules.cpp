// SPDX-License-Identifier: MIT
#include "kpgo/kernel/modules.hpp"

#include <algorithm>
#include <fstream>

#include "kpgo/kernel/elf.hpp"

namespace kpgo::kernel {

namespace fs = std::filesystem;

std::string module_name(const fs::path& file) {
  std::string name = file.stem().string();
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

Result<std::vector<BuiltModule>> built_modules(const fs::path& build_dir) {
  fs::path order = build_dir / "modules.order";
  std::vector<BuiltModule> modules;
  std::error_code ec;
  if (!fs::exists(order, ec)) return modules;
  std::ifstream in(order);
  if (!in) return fail("{}: cannot be read", order.string());
  // Kernels up to 6.1 list the .ko files, later ones the objects they are linked from.
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    fs::path file = build_dir / fs::path(line).replace_extension(".ko");
    if (!fs::exists(file, ec))
      return fail("{}: listed in {} but not built", file.string(), order.string());
    KPGO_TRY_BIND(build_id, read_build_id(file).map_error(context(file.string())));
    modules.push_back({module_name(file), file, *build_id});
  }
  return modules;
}

std::map<std::string, std::string> module_objects(const std::vector<BuiltModule>& modules) {
  std::map<std::string, std::string> owner;
  for (const auto& module : modules) {
    std::ifstream in(fs::path(module.file).replace_extension(".mod"));
    for (std::string object; in >> object;) owner[object] = module.name;
  }
  return owner;
}

fs::path staged_modules_dir(const fs::path& build_dir) {
  return build_dir / "kpgo-modules";
}

namespace {

// The staged tree is newer than modules.order and every module it lists: a rebuild that
// changed nothing needs no new install.
bool staged_is_current(const fs::path& build_dir, const fs::path& staged) {
  std::error_code ec;
  fs::path dep;
  for (const auto& entry : fs::directory_iterator(staged / "lib" / "modules", ec)) {
    dep = entry.path() / "modules.dep";
  }
  if (dep.empty() || !fs::exists(dep, ec)) return false;
  auto installed = fs::last_write_time(dep, ec);
  if (ec || fs::last_write_time(build_dir / "modules.order", ec) > installed) return false;
  std::ifstream order(build_dir / "modules.order");
  for (std::string line; std::getline(order, line);) {
    if (line.empty()) continue;
    fs::path ko = build_dir / fs::path(line).replace_extension(".ko");
    if (fs::last_write_time(ko, ec) > installed || ec) return false;
  }
  return true;
}

}  // namespace

Result<fs::path> install_modules(const Kbuild& kbuild, ProcessRunner& runner, const BuildLog& log) {
  std::error_code ec;
  fs::path order = kbuild.output / "modules.order";
  if (!fs::exists(order, ec) || fs::file_size(order, ec) == 0) return fs::path{};
  fs::path staged = staged_modules_dir(kbuild.output);
  if (staged_is_current(kbuild.output, staged)) return staged;
  fs::remove_all(staged, ec);
  KPGO_TRY(run_make(kbuild.make({"modules_install", "INSTALL_MOD_PATH=" + staged.string()}), runner,
                    log));
  return staged;
}

fs::path staged_modules_of(const fs::path& build_dir) {
  fs::path staged = staged_modules_dir(build_dir);
  std::error_code ec;
  return fs::is_directory(staged / "lib" / "modules", ec) ? staged : fs::path{};
}

}  // namespace kpgo::kernel
