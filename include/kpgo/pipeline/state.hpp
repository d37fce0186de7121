// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "kpgo/system/error.hpp"

namespace kpgo::pipeline {

// WORKDIR/kpgo.json: what each phase did, its inputs and outputs, so that later phases and later
// runs can use, check and skip it. One JSON object; each phase owns one key ("instrument",
// "collect", ...). Written atomically: a crash leaves the previous version.
class Manifest {
 public:
  static Result<Manifest> load(const std::filesystem::path& workdir);

  const std::filesystem::path& workdir() const { return workdir_; }
  std::filesystem::path path() const { return workdir_ / "kpgo.json"; }
  nlohmann::json& data() { return data_; }
  const nlohmann::json& data() const { return data_; }
  Result<> save() const;

 private:
  std::filesystem::path workdir_;
  nlohmann::json data_ = nlohmann::json::object();
};

// Current UTC time as ISO 8601, for the manifest's timestamps.
std::string utc_timestamp();

// SHA-256 of a file or of bytes, as lowercase hex.
Result<std::string> sha256_file(const std::filesystem::path& path);
std::string sha256_hex(std::string_view bytes);

}  // namespace kpgo::pipeline
