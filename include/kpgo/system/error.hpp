// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <utility>

#include <fmt/format.h>
#include <tl/expected.hpp>

namespace kpgo {

// A failure a user can act on: the message names the file or value and the reason.
struct Error {
  std::string message;
};

template <class T = void>
using Result = tl::expected<T, Error>;

template <class... Args>
tl::unexpected<Error> fail(fmt::format_string<Args...> format, Args&&... args) {
  return tl::unexpected(Error{fmt::format(format, std::forward<Args>(args)...)});
}

}  // namespace kpgo
