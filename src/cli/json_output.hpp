// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json.hpp>

#include "kpgo/bench/bench.hpp"
#include "kpgo/pipeline/collect.hpp"
#include "kpgo/pipeline/instrument.hpp"
#include "kpgo/pipeline/phases.hpp"
#include "kpgo/pipeline/run.hpp"
#include "kpgo/profile/merge.hpp"

// What --json prints, one document per command: the schema docs/json.md documents (its test,
// tests/integration/json_schema.py, compares the two). Built from the commands' outcomes, not from
// kpgo.json, whose layout is the workdir's business.
namespace kpgo::cli {

// Bumped when a field changes meaning or goes away; new fields do not bump it.
inline constexpr unsigned kJsonSchema = 3;

nlohmann::json instrument_json(const pipeline::InstrumentOutcome& outcome);
nlohmann::json collect_json(const pipeline::CollectOutcome& outcome);
nlohmann::json merge_json(const profile::MergeOutcome& outcome);
nlohmann::json optimize_json(const pipeline::OptimizeOutcome& outcome);
nlohmann::json run_json(const pipeline::PipelineOutcome& outcome);
nlohmann::json plan_json(const std::vector<pipeline::PlannedPhase>& plan);
nlohmann::json bench_json(const pipeline::BenchState& outcome);

// Prints the document on stdout, with the schema version added.
void print_json(nlohmann::json document);

}  // namespace kpgo::cli
