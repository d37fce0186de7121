// SPDX-License-Identifier: MIT
#include "kpgo/bench/html_report.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "kpgo/kernel/build.hpp"

namespace kpgo::bench {

namespace {

// Workload and variant names come from file names and options: escaped wherever they go.
std::string escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

const char* colour_of(size_t variant) {
  return kVariantColours[variant % std::size(kVariantColours)];
}

// The chart's geometry, in pixels.
struct Geometry {
  double left = 64;     // the axis and its labels
  double top = 34;      // the legend
  double height = 220;  // the plot
  double bottom = 52;   // workload names and the trained mark
  double bar = 26;
  double gap = 30;  // between workload groups
};

// One workload's medians for a metric, by variant (in the report's order), and the ratios to the
// reference; absent when the workload lacks the metric.
struct Group {
  const pipeline::BenchWorkloadState* workload = nullptr;
  std::vector<uint64_t> medians;
  std::vector<double> ratios;
};

std::vector<Group> groups_of(const pipeline::BenchState& outcome, const std::string& metric) {
  std::vector<Group> groups;
  for (const auto& w : outcome.workloads) {
    auto found = w.figures.find(metric);
    if (found == w.figures.end()) continue;
    Group group{&w, {}, {}};
    for (const auto& v : outcome.variants) {
      auto figures = found->second.find(v.name);
      group.medians.push_back(figures == found->second.end() ? 0 : median_of(figures->second));
    }
    for (uint64_t median : group.medians) {
      group.ratios.push_back(group.medians[0] ? static_cast<double>(median) / group.medians[0]
                                              : 0.0);
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

// The y axis' top and its gridline step: room above the tallest bar, at least 1.1.
std::pair<double, double> y_scale(const std::vector<Group>& groups) {
  double tallest = 1.0;
  for (const auto& g : groups) {
    for (double r : g.ratios) tallest = std::max(tallest, r);
  }
  double top = std::max(1.1, tallest * 1.08);
  double step = top <= 2 ? 0.25 : top <= 4 ? 0.5 : std::ceil(top / 8);
  return {top, step};
}

std::string legend(const pipeline::BenchState& outcome, const Geometry& g) {
  std::string out;
  double x = g.left;
  for (size_t v = 0; v < outcome.variants.size(); ++v) {
    out += fmt::format(R"(<rect x="{}" y="8" width="14" height="14" fill="{}"/>)", x, colour_of(v));
    out +=
        fmt::format(R"(<text x="{}" y="20">{}</text>)", x + 20, escaped(outcome.variants[v].name));
    x += 40 + 8.0 * outcome.variants[v].name.size();
  }
  out += fmt::format(R"(<rect x="{}" y="8" width="14" height="14" fill="{}"/>)", x, kTrainedBand);
  out += fmt::format(R"(<text x="{}" y="20">trained on</text>)", x + 20);
  return out;
}

std::string axis(double width, double y_top, double step, const Geometry& g) {
  std::string out;
  for (double r = 0; r <= y_top + 1e-9; r += step) {
    double y = g.top + g.height * (1 - r / y_top);
    out += fmt::format(R"(<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" class="grid"/>)", g.left,
                       width, y, y);
    out +=
        fmt::format(R"(<text x="{}" y="{:.1f}" class="tick">{:.2f}</text>)", g.left - 6, y + 4, r);
  }
  double one = g.top + g.height * (1 - 1 / y_top);
  out += fmt::format(R"(<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" class="reference"/>)", g.left,
                     width, one, one);
  return out;
}

std::string group_svg(const pipeline::BenchState& outcome, const pipeline::BenchMetric& metric,
                      const Group& group, double x, double y_top, const Geometry& g) {
  std::string out;
  double width = g.bar * outcome.variants.size();
  if (group.workload->trained) {
    out += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>)",
                       x - g.gap / 2 + 2, g.top, width + g.gap - 4, g.height, kTrainedBand);
  }
  for (size_t v = 0; v < outcome.variants.size(); ++v) {
    double h = g.height * group.ratios[v] / y_top;
    double bar_x = x + g.bar * v;
    out += fmt::format(
        R"(<rect x="{:.1f}" y="{:.1f}" width="{}" height="{:.1f}" fill="{}"><title>{} on {}: {} {} (median), {:.4f} of {}</title></rect>)",
        bar_x, g.top + g.height - h, g.bar - 2, h, colour_of(v), escaped(outcome.variants[v].name),
        escaped(group.workload->name), group.medians[v], escaped(metric.unit), group.ratios[v],
        escaped(outcome.variants[0].name));
    if (v > 0) {
      out += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" class="ratio">{:.3f}</text>)",
                         bar_x + (g.bar - 2) / 2, g.top + g.height - h - 4, group.ratios[v]);
    }
  }
  double middle = x + width / 2;
  double base = g.top + g.height;
  out += fmt::format(R"(<text x="{:.1f}" y="{}" class="workload">{}</text>)", middle, base + 18,
                     escaped(group.workload->name));
  out += fmt::format(R"(<text x="{:.1f}" y="{}" class="{}">{}</text>)", middle, base + 36,
                     group.workload->trained ? "trained" : "untrained",
                     group.workload->trained ? "trained" : "not trained");
  return out;
}

std::string chart(const pipeline::BenchState& outcome, const pipeline::BenchMetric& metric) {
  Geometry g;
  auto groups = groups_of(outcome, metric.name);
  auto [y_top, step] = y_scale(groups);
  double group_width = g.bar * outcome.variants.size() + g.gap;
  double width = std::max(g.left + g.gap / 2 + group_width * groups.size(), 560.0);
  std::string out = fmt::format(
      R"(<svg class="chart" data-metric="{}" width="{:.0f}" height="{:.0f}" role="img">)",
      escaped(metric.name), width, g.top + g.height + g.bottom);
  out += legend(outcome, g);
  out += axis(width, y_top, step, g);
  double x = g.left + g.gap / 2;
  for (const auto& group : groups) {
    out += group_svg(outcome, metric, group, x, y_top, g);
    x += group_width;
  }
  return out + "</svg>\n";
}

std::string variants_table(const pipeline::BenchState& outcome) {
  std::string out =
      "<table><tr><th>kernel</th><th>LTO</th><th>profile</th><th>functions in .text.hot</th>"
      "<th>in .text.unlikely</th><th>promoted indirect calls</th><th>build time</th>"
      "<th>build peak memory</th></tr>\n";
  for (size_t v = 0; v < outcome.variants.size(); ++v) {
    const auto& k = outcome.variants[v];
    out += fmt::format(
        R"(<tr><td><span class="swatch" style="background:{}"></span>{}</td><td>{}</td><td>{}</td>)"
        "<td>{} of {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        colour_of(v), escaped(k.name), escaped(k.lto), escaped(k.profile), k.layout.hot,
        k.layout.functions, k.layout.unlikely, k.promoted_indirect_calls,
        k.build_cost.seconds ? fmt::format("{:.0f} s", k.build_cost.seconds) : "-",
        k.build_cost.peak_memory_kib ? kernel::memory_text(k.build_cost.peak_memory_kib) : "-");
  }
  return out + "</table>\n";
}

// What the figures are, and what they are not.
std::string method_note(const pipeline::BenchState& outcome) {
  if (outcome.machine == "qemu") {
    return "Instruction counts and modelled cache misses are not time: they count what the guest "
           "executed under QEMU's -icount, the same in every round. Time on real hardware is what "
           "<code>kpgo bench --ssh</code> measures.";
  }
  return fmt::format("Wall time of each workload on {}, which varies from round to round.",
                     escaped(outcome.machine));
}

constexpr const char* kStyle = R"(<style>
body { font-family: sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; margin-bottom: 16px; }
td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
td:first-child, th:first-child { text-align: left; white-space: nowrap; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 6px; }
svg.chart text { font-size: 12px; }
svg.chart .tick { text-anchor: end; fill: #555; }
svg.chart .grid { stroke: #e4e4e4; }
svg.chart .reference { stroke: #333; stroke-dasharray: 4 3; }
svg.chart .ratio { text-anchor: middle; font-size: 9px; }
svg.chart .workload, svg.chart .trained, svg.chart .untrained { text-anchor: middle; }
svg.chart .trained { font-weight: bold; }
svg.chart .untrained { fill: #777; }
</style>
)";

}  // namespace

std::string html_report(const pipeline::BenchState& outcome) {
  std::string reference = outcome.variants.empty() ? "" : outcome.variants[0].name;
  std::string out = "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<title>kpgo bench</title>\n";
  out += kStyle;
  out += "</head>\n<body>\n<h1>kpgo bench</h1>\n";
  out += fmt::format("<p>Measured on {}: {}.</p>\n<p>{}</p>\n", escaped(outcome.machine),
                     escaped(outcome.method), method_note(outcome));
  out += variants_table(outcome);
  if (outcome.variants.empty()) return out + "</body>\n</html>\n";
  for (const auto& metric : outcome.metrics) {
    out += fmt::format("<h2>{}</h2>\n", escaped(metric.name));
    out += fmt::format(
        "<p>{} ({}), median of {} rounds. Each bar is a kernel's median over the {} kernel's "
        "(dashed line: 1; below it: less).</p>\n",
        escaped(metric.what), escaped(metric.unit), outcome.rounds, escaped(reference));
    out += chart(outcome, metric);
  }
  return out + "</body>\n</html>\n";
}

}  // namespace kpgo::bench
