// SPDX-License-Identifier: MIT
#include "kpgo/system/logging.hpp"

#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace kpgo {

namespace {
bool status_lines = false;
}  // namespace

void show_status(std::string_view text) {
  if (status_lines) fmt::print(stderr, "\r\033[K{}", text);
}

void clear_status() {
  if (status_lines) fmt::print(stderr, "\r\033[K");
}

std::string name_list(const std::vector<std::string>& names, size_t named) {
  if (names.size() <= named || spdlog::should_log(spdlog::level::debug)) {
    return fmt::format("{}", fmt::join(names, ", "));
  }
  return fmt::format(
      "{}, and {} more (-v names them all)",
      fmt::join(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(named), ", "),
      names.size() - named);
}

void setup_logging(int verbosity) {
  status_lines = verbosity >= 0 && ::isatty(STDERR_FILENO);
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  // NO_COLOR (https://no-color.org): any non-empty value turns colour off.
  const char* no_color = std::getenv("NO_COLOR");
  if ((no_color && *no_color) || !::isatty(STDERR_FILENO)) {
    sink->set_color_mode(spdlog::color_mode::never);
  }
  auto logger = std::make_shared<spdlog::logger>("kpgo", sink);
  logger->set_pattern("kpgo: %^%l%$: %v");
  spdlog::level::level_enum level = spdlog::level::info;
  if (verbosity < 0) level = spdlog::level::err;
  if (verbosity == 1) level = spdlog::level::debug;
  if (verbosity >= 2) level = spdlog::level::trace;
  logger->set_level(level);
  spdlog::set_default_logger(logger);
}

}  // namespace kpgo
