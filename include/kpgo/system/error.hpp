// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <tl/expected.hpp>

namespace kpgo {

// A failure a user can act on: the reason, and where it happened. The reason names the value
// and what is wrong with it; each caller the error passes through on its way up may add where
// (a file, a command, a phase) with context(), so no message is ever edited.
struct Error {
  std::string message;               // the reason
  std::vector<std::string> context;  // where, innermost first

  // As kpgo prints it: "outermost: ...: innermost: reason".
  std::string what() const {
    std::string text;
    for (auto where = context.rbegin(); where != context.rend(); ++where) text += *where + ": ";
    return text + message;
  }
};

template <class T = void>
using Result = tl::expected<T, Error>;

template <class... Args>
tl::unexpected<Error> fail(fmt::format_string<Args...> format, Args&&... args) {
  return tl::unexpected(Error{fmt::format(format, std::forward<Args>(args)...), {}});
}

// For map_error: adds where an error happened as it passes, e.g.
//   KPGO_TRY(read_config(path).map_error(context(path.string())));
inline auto context(std::string where) {
  return [where = std::move(where)](Error error) {
    error.context.push_back(where);
    return error;
  };
}

}  // namespace kpgo

// Evaluates a Result; when it holds an error, returns that error from the calling function.
#define KPGO_TRY(...)                                               \
  do {                                                              \
    if (auto kpgo_try_result_ = (__VA_ARGS__); !kpgo_try_result_) { \
      return tl::unexpected(std::move(kpgo_try_result_).error());   \
    }                                                               \
  } while (0)

// Declares `name` as the Result of an expression and, when it holds an error, returns that error
// from the calling function; after it, *name and name-> are the value. Two statements: use it as
// a statement of its own, never as the body of an unbraced if.
#define KPGO_TRY_BIND(name, ...) \
  auto name = (__VA_ARGS__);     \
  if (!name) return tl::unexpected(std::move(name).error())
