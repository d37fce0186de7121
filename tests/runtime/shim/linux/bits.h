/* SPDX-License-Identifier: MIT */
#include "kernel_shim.h"
