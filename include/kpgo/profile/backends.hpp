// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "kpgo/profile/backend.hpp"
#include "kpgo/system/error.hpp"

namespace kpgo::profile {

// The merge backends installed beside kpgo, found by file name and loaded on first use.
class BackendSet {
 public:
  // Looks in $KPGO_BACKEND_DIR, then next to the kpgo executable, then in ../lib/kpgo.
  static BackendSet discover();
  // For tests and for callers that have backends in hand.
  static BackendSet from_backends(std::vector<std::unique_ptr<Backend>> backends);

  BackendSet(BackendSet&&) noexcept;
  BackendSet& operator=(BackendSet&&) noexcept;
  ~BackendSet();

  std::vector<unsigned> majors() const;  // ascending
  Result<Backend*> get(unsigned major);
  // Infos of every backend that loads; ones that fail to load are reported by get().
  std::vector<BackendInfo> infos();
  // What each backend reads and writes, without loading the libraries of majors whose formats
  // kpgo knows (each library pulls in its own libLLVM): enough to choose one. llvm_version is
  // only the major for those not loaded.
  std::vector<BackendInfo> catalog();

 private:
  BackendSet() = default;
  // The backend's info, loading it; a library that does not load is warned about and skipped.
  std::optional<BackendInfo> loaded_info(unsigned major);
  struct Loaded;
  std::map<unsigned, std::filesystem::path> libraries_;
  std::map<unsigned, std::unique_ptr<Loaded>> loaded_;
  std::vector<std::filesystem::path> search_dirs_;
};

std::string backend_library_name(unsigned major);

}  // namespace kpgo::profile
