// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

#include "kpgo/pipeline/collect.hpp"
#include "kpgo/pipeline/instrument.hpp"
#include "kpgo/pipeline/phases.hpp"
#include "kpgo/profile/backends.hpp"

namespace kpgo::pipeline {

struct PipelineOptions {
  InstrumentOptions instrument;  // its workdir is the pipeline's
  CollectOptions collect;
  OptimizeOptions optimize;
  // Context-sensitive PGO: after stage 1 (instrument, collect, merge), stage 2 in WORKDIR/cs
  // (cs-instrument, cs-collect, cs-merge), whose merged profile the optimized build uses.
  bool cs = false;
};

struct PhaseResult {
  std::string name;
  bool ran = false;  // false: its inputs had not changed since it last completed
};

struct PipelineOutcome {
  std::vector<PhaseResult> phases;
  OptimizeOutcome optimized;
  size_t profiles = 0;
};

struct PlannedPhase {
  std::string name;
  bool runs = false;              // false: up to date
  std::string what;               // what it would do, when its commands are not known in advance
  std::vector<Command> commands;  // the commands it would run, when they are
};

// What run_pipeline would do, doing nothing: which phases run, and the exact commands of those
// that know them in advance (instrument; optimize once an instrumented kernel exists).
Result<std::vector<PlannedPhase>> plan_pipeline(const PipelineOptions& options,
                                                ProcessRunner& runner,
                                                profile::BackendSet& backends, Manifest& manifest);

// instrument, collect, merge, optimize; a phase whose inputs (and so everything it depends on)
// are unchanged since it last completed is skipped, so a second run redoes nothing and a changed
// workload redoes collect and what follows.
Result<PipelineOutcome> run_pipeline(const PipelineOptions& options, ProcessRunner& runner,
                                     profile::BackendSet& backends, Manifest& manifest);

}  // namespace kpgo::pipeline
