// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "kpgo/system/error.hpp"
#include "kpgo/system/signals.hpp"

namespace kpgo {

// A file of kpgo's own, removed when destroyed or when a signal ends kpgo: it is registered for
// removal before it exists, so no instant leaves it behind.
class TemporaryFile {
 public:
  // A new empty file named PREFIX-XXXXXXXX (random) in `dir`, readable by its owner only.
  static Result<TemporaryFile> create_in(const std::filesystem::path& dir, std::string_view prefix);
  // The same in $TMPDIR (or /tmp).
  static Result<TemporaryFile> create(std::string_view prefix);
  TemporaryFile(TemporaryFile&& other) noexcept;
  TemporaryFile& operator=(TemporaryFile&&) = delete;
  ~TemporaryFile();
  const std::filesystem::path& path() const { return path_; }
  // The file is no longer kpgo's to remove (renamed into place, say).
  void release() { owner_ = false; }

 private:
  explicit TemporaryFile(std::filesystem::path path)
      : path_(std::move(path)), registration_(path_.string()) {}
  std::filesystem::path path_;
  TemporaryFileRegistration registration_;
  bool owner_ = true;
};

// A file that appears under its final name only when complete: writers fill `temp_path()`, and
// `commit()` renames it over the target. Destroyed without commit, or when a signal ends kpgo
// (system/signals.hpp), the temporary is removed and whatever stood at the target before is
// untouched. The file gets the permissions of the file it replaces, or those the umask leaves.
class AtomicFile {
 public:
  static Result<AtomicFile> create(const std::filesystem::path& target);

  AtomicFile(AtomicFile&& other) noexcept = default;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;

  const std::filesystem::path& temp_path() const { return temp_.path(); }
  const std::filesystem::path& target() const { return target_; }
  Result<> commit();

 private:
  AtomicFile(std::filesystem::path target, TemporaryFile temp)
      : target_(std::move(target)), temp_(std::move(temp)) {}
  static mode_t mode_for(const std::filesystem::path& target);
  static mode_t process_umask();
  std::filesystem::path target_;
  TemporaryFile temp_;
};

// Eight random letters and digits, for names of temporary files.
std::string random_suffix();

// Writes `content` to `target` through an AtomicFile.
Result<> write_file_atomically(const std::filesystem::path& target, std::string_view content);

}  // namespace kpgo
