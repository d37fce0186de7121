// SPDX-License-Identifier: MIT
#include <memory>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/json_output.hpp"
#include "kpgo/pipeline/artifacts.hpp"

namespace kpgo::cli {

namespace {

struct ArtifactsArgs {
  std::string workdir = "kpgo-work";
  std::string stage;
  std::string pack;
  std::string unpack;
};

Result<int> run_unpack(const ArtifactsArgs& args, const GlobalOptions& globals) {
  KPGO_TRY_BIND(outcome, pipeline::unpack_artifacts(args.unpack, args.workdir, system_runner()));
  if (!outcome->kept_sections.empty()) {
    spdlog::info("{}: kept its own {} (the same instrumented kernel as {})", args.workdir,
                 fmt::join(outcome->kept_sections, ", "), args.unpack);
  }
  if (globals.json) {
    print_json({{"unpacked", args.unpack},
                {"workdir", args.workdir},
                {"kept_sections", outcome->kept_sections}});
  } else if (!globals.quiet) {
    fmt::print("{} unpacked into {}\n", args.unpack, args.workdir);
  }
  return 0;
}

Result<int> run_artifacts(const ArtifactsArgs& args, const GlobalOptions& globals) {
  if (!args.unpack.empty()) return run_unpack(args, globals);
  KPGO_TRY_BIND(stage, pipeline::parse_stage(args.stage));
  KPGO_TRY_BIND(manifest, pipeline::Manifest::load(args.workdir));
  KPGO_TRY_BIND(artifacts, pipeline::stage_artifacts(*manifest, *stage));
  if (!args.pack.empty()) {
    KPGO_TRY(pipeline::pack_artifacts(*artifacts, *manifest, args.pack, system_runner()));
    spdlog::info("{}: {} paths a {} job needs (unpack it into its --workdir)", args.pack,
                 artifacts->files.size(), args.stage);
  }
  for (const auto& path : artifacts->outside)
    spdlog::info("outside the workdir, needed at the same path: {}", path.string());
  if (globals.json) {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& path : artifacts->files) files.push_back(path.string());
    nlohmann::json outside = nlohmann::json::array();
    for (const auto& path : artifacts->outside) outside.push_back(path.string());
    print_json({{"stage", args.stage}, {"files", files}, {"outside", outside}});
  } else if (args.pack.empty()) {
    for (const auto& path : artifacts->files) fmt::print("{}\n", path.string());
  }
  return 0;
}

}  // namespace

Subcommand add_artifacts_command(CLI::App& parent, const GlobalOptions& globals) {
  auto args = std::make_shared<ArtifactsArgs>();
  CLI::App* app = parent.add_subcommand(
      "artifacts",
      "List (or pack) what one stage needs from the workdir, to run it as a CI job elsewhere");
  app->add_option("--workdir", args->workdir, "The workdir of the earlier stages")
      ->capture_default_str();
  auto* stage = app->add_option("--stage", args->stage, "collect, merge, optimize or bench");
  auto* pack = app->add_option("--pack", args->pack,
                               "Write them to this tar archive (paths relative to the workdir)");
  app->add_option("--unpack", args->unpack,
                  "Unpack such an archive into the workdir; the workdir's own records of later "
                  "stages stay when its instrumented kernel is the same (a CI cache)")
      ->excludes(stage)
      ->excludes(pack);
  // A usage error like any missing option: one or the other.
  app->parse_complete_callback([args] {
    if (args->stage.empty() && args->unpack.empty())
      throw CLI::RequiredError("--stage or --unpack");
  });
  return {app, [args, &globals] { return run_artifacts(*args, globals); }};
}

}  // namespace kpgo::cli
