// SPDX-License-Identifier: MIT
#include "kpgo/profile/backends.hpp"
#include "kpgo/profile/versions.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>

#include <spdlog/spdlog.h>

#include "kpgo/system/data_dir.hpp"

namespace kpgo::profile {

namespace fs = std::filesystem;

struct BackendSet::Loaded {
  void* handle = nullptr;  // never closed: LLVM registers static state that outlives dlclose
  std::unique_ptr<Backend> backend;
};

std::string backend_library_name(unsigned major) {
  return fmt::format("libkpgo-profile-llvm{}.so", major);
}

BackendSet BackendSet::discover() {
  BackendSet set;
  set.search_dirs_ = library_dirs();
  static const std::regex pattern(R"(libkpgo-profile-llvm(\d+)\.so)");
  for (const auto& dir : set.search_dirs_) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::smatch match;
      std::string name = entry.path().filename().string();
      if (!std::regex_match(name, match, pattern)) continue;
      unsigned major = static_cast<unsigned>(std::stoul(match[1]));
      set.libraries_.try_emplace(major, entry.path());  // earlier directories win
    }
  }
  return set;
}

BackendSet BackendSet::from_backends(std::vector<std::unique_ptr<Backend>> backends) {
  BackendSet set;
  for (auto& backend : backends) {
    unsigned major = backend->info().llvm_major;
    auto loaded = std::make_unique<Loaded>();
    loaded->backend = std::move(backend);
    set.loaded_[major] = std::move(loaded);
  }
  return set;
}

BackendSet::BackendSet(BackendSet&&) noexcept = default;
BackendSet& BackendSet::operator=(BackendSet&&) noexcept = default;
BackendSet::~BackendSet() = default;

std::vector<unsigned> BackendSet::majors() const {
  std::vector<unsigned> out;
  for (const auto& [major, path] : libraries_) out.push_back(major);
  for (const auto& [major, loaded] : loaded_) {
    if (!libraries_.count(major)) out.push_back(major);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<Backend*> BackendSet::get(unsigned major) {
  if (auto it = loaded_.find(major); it != loaded_.end()) return it->second->backend.get();
  auto lib = libraries_.find(major);
  if (lib == libraries_.end()) {
    return fail("kpgo has no merge backend for LLVM {} ({} not found)", major,
                backend_library_name(major));
  }
  spdlog::debug("loading {}", lib->second.string());
  void* handle = ::dlopen(lib->second.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) return fail("cannot load {}: {}", lib->second.string(), ::dlerror());
  auto create =
      reinterpret_cast<Backend* (*)(unsigned)>(::dlsym(handle, "kpgo_profile_backend_create"));
  if (!create) return fail("{} is not a kpgo backend", lib->second.string());
  std::unique_ptr<Backend> backend(create(kBackendAbi));
  if (!backend) {
    return fail("{} was built for another kpgo (backend interface {} expected)",
                lib->second.string(), kBackendAbi);
  }
  auto loaded = std::make_unique<Loaded>();
  loaded->handle = handle;
  loaded->backend = std::move(backend);
  Backend* raw = loaded->backend.get();
  loaded_[major] = std::move(loaded);
  return raw;
}

std::optional<BackendInfo> BackendSet::loaded_info(unsigned major) {
  auto backend = get(major);
  if (!backend) {
    spdlog::warn("{}", backend.error().what());
    return std::nullopt;
  }
  return (*backend)->info();
}

std::vector<BackendInfo> BackendSet::catalog() {
  std::vector<BackendInfo> out;
  for (unsigned major : majors()) {
    auto known = known_format_versions(major);
    if (known && !loaded_.count(major)) {
      out.push_back({major, std::to_string(major), known->raw, known->indexed});
    } else if (auto info = loaded_info(major)) {
      out.push_back(*info);
    }
  }
  return out;
}

std::vector<BackendInfo> BackendSet::infos() {
  std::vector<BackendInfo> out;
  for (unsigned major : majors()) {
    if (auto info = loaded_info(major)) out.push_back(*info);
  }
  return out;
}

}  // namespace kpgo::profile
