#include "bench/load/report.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>

namespace paysync::bench {

namespace json = boost::json;

namespace {

constexpr double percentiles[] = {0.50, 0.90, 0.99, 0.999};
constexpr const char* percentile_keys[] = {"p50_us", "p90_us", "p99_us", "p99_9_us"};
constexpr const char* percentile_labels[] = {"p50", "p90", "p99", "p99.9"};

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

// Rounded to `unit` (a power of ten); divides last so that the JSON shows
// 514.8 rather than 514.8000000000001.
double rounded(double v, double unit = 0.001) {
  const double inverse = std::round(1.0 / unit);
  return std::round(v * inverse) / inverse;
}

std::string fmt(const char* format, double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, v);
  return buffer;
}

// Thousands separators for whole numbers.
std::string grouped(double v) {
  auto n = static_cast<long long>(std::llround(v));
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string ms(std::uint64_t ns) {
  const double v = static_cast<double>(ns) / 1e6;
  return fmt(v < 1 ? "%.3f" : (v < 100 ? "%.2f" : "%.0f"), v);
}

std::optional<double> median(std::vector<double> v) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

json::object span_json(const histogram& h) {
  json::object o;
  o["count"] = h.count();
  for (std::size_t i = 0; i < std::size(percentiles); ++i) {
    o[percentile_keys[i]] = rounded(us(h.percentile(percentiles[i])), 0.1);
  }
  o["max_us"] = rounded(us(h.max()), 0.1);
  o["mean_us"] = rounded(h.mean() / 1000.0, 0.1);
  return o;
}

json::object proc_json(const proc_sample& s) {
  json::object o;
  o["ok"] = s.ok;
  o["rss_kb"] = s.rss_kb;
  o["rss_anon_kb"] = s.rss_anon_kb;
  o["rss_file_kb"] = s.rss_file_kb;
  o["hwm_kb"] = s.hwm_kb;
  o["threads"] = s.threads;
  o["open_fds"] = s.open_fds;
  o["cpu_user_s"] = rounded(s.cpu_user_s);
  o["cpu_system_s"] = rounded(s.cpu_system_s);
  return o;
}

json::object connect_json(const connect_summary& c) {
  json::object o;
  o["billing_ready"] = c.billing_ready;
  o["billing_failed"] = c.billing_failed;
  o["handsets_ready"] = c.handsets_ready;
  o["handsets_failed"] = c.handsets_failed;
  o["echo_ready"] = c.echo_ready;
  o["echo_failed"] = c.echo_failed;
  json::object failures;
  for (const auto& [k, v] : c.failures) failures[k] = v;
  o["failures"] = std::move(failures);
  o["seconds"] = rounded(c.seconds);
  return o;
}

std::string errors_text(const std::map<std::string, std::uint64_t>& errors) {
  if (errors.empty()) return "none";
  std::string out;
  for (const auto& [k, v] : errors) {
    if (!out.empty()) out += ", ";
    out += "`" + k + "` " + grouped(static_cast<double>(v));
  }
  return out;
}

// Prometheus text: "name{labels} value" lines into an object (comments skipped).
json::object parse_metrics(const std::string& text) {
  json::object o;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    try {
      o[line.substr(0, space)] = std::stod(line.substr(space + 1));
    } catch (...) {
      // a value we cannot read (NaN spelled otherwise): keep the text
      o[line.substr(0, space)] = line.substr(space + 1);
    }
  }
  return o;
}

// after - before for every sample that changed (counters, histogram buckets
// and sums, gauges).
json::object metrics_delta(const std::string& before, const std::string& after) {
  const auto b = parse_metrics(before);
  const auto a = parse_metrics(after);
  json::object delta;
  for (const auto& [k, v] : a) {
    if (!v.is_double()) continue;
    const auto* old = b.if_contains(k);
    const double d = v.as_double() - (old && old->is_double() ? old->as_double() : 0.0);
    if (d != 0) delta[k] = d;
  }
  return delta;
}

double delta_of(const json::object& delta, const char* key) {
  const auto* v = delta.if_contains(key);
  return v && v->is_double() ? v->as_double() : 0.0;
}

// Prometheus' histogram_quantile over the cumulative buckets "<name>_bucket{le=...}"
// of a delta: linear inside the bucket holding the quantile. Nothing when empty.
std::optional<double> bucket_quantile(const json::object& delta, const std::string& name,
                                      double q) {
  std::vector<std::pair<double, double>> buckets;  // (upper bound, cumulative count)
  const std::string prefix = name + "_bucket{le=\"";
  for (const auto& [k, v] : delta) {
    const std::string key(k);
    if (key.rfind(prefix, 0) != 0 || !v.is_double()) continue;
    const std::string le = key.substr(prefix.size(), key.size() - prefix.size() - 2);
    buckets.emplace_back(le == "+Inf" ? INFINITY : std::stod(le), v.as_double());
  }
  std::sort(buckets.begin(), buckets.end());
  if (buckets.empty() || buckets.back().second <= 0) return std::nullopt;
  const double rank = q * buckets.back().second;
  double lower = 0, below = 0;
  for (const auto& [upper, count] : buckets) {
    if (count >= rank) {
      if (std::isinf(upper)) return lower;  // beyond the last finite bound
      const double share = count > below ? (rank - below) / (count - below) : 1;
      return lower + (upper - lower) * share;
    }
    lower = upper;
    below = count;
  }
  return std::nullopt;
}

}  // namespace

double phase_record::settled_per_s() const {
  return stats.seconds > 0 ? static_cast<double>(stats.settled) / stats.seconds : 0;
}

double phase_record::round_trips_per_s() const {
  return stats.seconds > 0 ? static_cast<double>(stats.echo_round_trips) / stats.seconds : 0;
}

double phase_record::frames_per_settlement() const {
  const double a = static_cast<double>(stats.settled_flow_a);
  const double b = static_cast<double>(stats.settled_flow_b);
  if (a + b == 0) return frames_per_settlement_flow_a;
  return (a * frames_per_settlement_flow_a + b * frames_per_settlement_flow_b) / (a + b);
}

std::optional<double> round_record::ceiling_ratio() const {
  if (!echo || !closed || echo->round_trips_per_s() <= 0) return std::nullopt;
  return closed->settled_per_s() * closed->frames_per_settlement() /
         (echo->round_trips_per_s() * frames_per_echo_round_trip);
}

std::optional<double> round_record::cpu_ceiling_ratio() const {
  if (!echo || !closed || !closed->have_switch || echo->stats.echo_round_trips == 0 ||
      closed->stats.settled == 0) {
    return std::nullopt;
  }
  const double echo_cpu_per_frame = (echo->echo_server_cpu_s + echo->generator_cpu_s) /
                                    static_cast<double>(echo->stats.echo_round_trips) /
                                    frames_per_echo_round_trip;
  const double switch_cpu = closed->switch_after.cpu_s() - closed->switch_before.cpu_s();
  const double switch_cpu_per_frame = (switch_cpu + closed->generator_cpu_s) /
                                      static_cast<double>(closed->stats.settled) /
                                      closed->frames_per_settlement();
  if (switch_cpu_per_frame <= 0) return std::nullopt;
  return echo_cpu_per_frame / switch_cpu_per_frame;
}

std::optional<double> round_record::server_cpu_ratio() const {
  if (!echo || !closed || !closed->have_switch || echo->stats.echo_round_trips == 0 ||
      closed->stats.settled == 0) {
    return std::nullopt;
  }
  const double echo_per_frame = echo->echo_server_cpu_s /
                                static_cast<double>(echo->stats.echo_round_trips) /
                                frames_per_echo_round_trip;
  const double switch_per_frame = (closed->switch_after.cpu_s() - closed->switch_before.cpu_s()) /
                                  static_cast<double>(closed->stats.settled) /
                                  closed->frames_per_settlement();
  if (switch_per_frame <= 0) return std::nullopt;
  return echo_per_frame / switch_per_frame;
}

json::object phase_json(const phase_record& p) {
  const auto& s = p.stats;
  json::object o;
  o["kind"] = p.kind;
  if (p.kind == "open") o["offered_per_s"] = rounded(p.offered_per_s, 0.1);
  o["connections"] = p.connections;
  o["seconds"] = rounded(s.seconds);
  if (p.kind == "echo") {
    o["round_trips"] = s.echo_round_trips;
    o["round_trips_per_s"] = rounded(p.round_trips_per_s(), 0.1);
    o["frames_per_s"] = rounded(p.round_trips_per_s() * frames_per_echo_round_trip, 0.1);
    o["server_cpu_s"] = rounded(p.echo_server_cpu_s);
    if (s.echo_round_trips > 0) {
      o["server_cpu_us_per_round_trip"] =
          rounded(p.echo_server_cpu_s * 1e6 / static_cast<double>(s.echo_round_trips));
      o["client_cpu_us_per_round_trip"] =
          rounded(p.generator_cpu_s * 1e6 / static_cast<double>(s.echo_round_trips));
    }
  } else {
    o["started"] = s.started;
    o["settled"] = s.settled;
    o["settled_flow_a"] = s.settled_flow_a;
    o["settled_flow_b"] = s.settled_flow_b;
    o["receipts"] = s.receipts;
    o["settled_per_s"] = rounded(p.settled_per_s(), 0.1);
    o["frames_per_settlement_exact"] = rounded(p.frames_per_settlement());
    if (s.settled > 0) {
      o["frames_per_settlement_measured"] =
          rounded(static_cast<double>(s.frames_in + s.frames_out) / static_cast<double>(s.settled));
      o["generator_cpu_us_per_settlement"] =
          rounded(p.generator_cpu_s * 1e6 / static_cast<double>(s.settled));
    }
    o["handset_waits"] = s.handset_waits;
    o["max_waiting_for_handset"] = s.max_waiting;
    o["payer_reconnects"] = s.payer_reconnects;
    o["stray_frames"] = s.stray_frames;
    o["in_flight_at_end"] = s.in_flight_at_end;
    o["overloaded_skips"] = s.overloaded_skips;
  }
  json::object errors;
  for (const auto& [k, v] : s.errors) errors[k] = v;
  o["errors"] = std::move(errors);
  o["frames_out"] = s.frames_out;
  o["frames_in"] = s.frames_in;
  o["bytes_out"] = s.bytes_out;
  o["bytes_in"] = s.bytes_in;
  if (s.frames_in + s.frames_out > 0) {
    o["mean_frame_bytes"] = rounded(static_cast<double>(s.bytes_in + s.bytes_out) /
                                        static_cast<double>(s.frames_in + s.frames_out),
                                    0.1);
  }
  o["generator_cpu_s"] = rounded(p.generator_cpu_s);
  if (auto host = host_cpu_between(p.host_before, p.host_after)) {
    o["host_cpu_percent"] = json::object{{"busy", rounded(host->busy * 100, 0.1)},
                                         {"softirq", rounded(host->softirq * 100, 0.1)},
                                         {"idle", rounded(host->idle * 100, 0.1)},
                                         {"iowait", rounded(host->iowait * 100, 0.1)},
                                         {"steal", rounded(host->steal * 100, 0.1)}};
  }
  json::object spans;
  for (unsigned i = 0; i < span_count; ++i) {
    if (s.spans[i].count() > 0) spans[span_name(static_cast<span_id>(i))] = span_json(s.spans[i]);
  }
  o["latency"] = std::move(spans);
  if (p.have_switch) {
    json::object sw;
    sw["before"] = proc_json(p.switch_before);
    sw["after"] = proc_json(p.switch_after);
    const double cpu = p.switch_after.cpu_s() - p.switch_before.cpu_s();
    sw["cpu_s"] = rounded(cpu);
    sw["cpu_cores"] = s.seconds > 0 ? rounded(cpu / s.seconds) : 0.0;
    if (s.settled > 0) {
      sw["cpu_us_per_settlement"] = rounded(cpu * 1e6 / static_cast<double>(s.settled), 0.01);
    }
    o["switch"] = std::move(sw);
  }
  if (!p.metrics_before.empty() && !p.metrics_after.empty()) {
    auto delta = metrics_delta(p.metrics_before, p.metrics_after);
    const double commits = delta_of(delta, "paysync_ledger_batch_size_count");
    if (commits > 0) {
      o["ledger_commits"] = commits;
      o["ledger_mean_batch"] =
          rounded(delta_of(delta, "paysync_ledger_batch_size_sum") / commits, 0.01);
      o["ledger_mean_commit_ms"] =
          rounded(delta_of(delta, "paysync_ledger_commit_seconds_sum") / commits * 1e3, 0.001);
      for (auto [key, q] :
           {std::pair{"ledger_commit_p50_ms", 0.5}, std::pair{"ledger_commit_p99_ms", 0.99}}) {
        if (auto v = bucket_quantile(delta, "paysync_ledger_commit_seconds", q)) {
          o[key] = rounded(*v * 1e3, 0.01);
        }
      }
    }
    o["metrics_delta"] = std::move(delta);
  }
  return o;
}

namespace {

std::string latency_table(const std::vector<const phase_record*>& phases,
                          std::initializer_list<span_id> spans) {
  std::string md = "| span (ms) | p50 | p90 | p99 | p99.9 | max | samples |\n";
  md += "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (span_id span : spans) {
    std::vector<std::vector<double>> values(std::size(percentiles) + 1);
    std::vector<double> counts;
    for (const auto* p : phases) {
      const auto& h = p->stats.spans[span];
      if (h.count() == 0) continue;
      for (std::size_t i = 0; i < std::size(percentiles); ++i) {
        values[i].push_back(static_cast<double>(h.percentile(percentiles[i])));
      }
      values.back().push_back(static_cast<double>(h.max()));
      counts.push_back(static_cast<double>(h.count()));
    }
    if (counts.empty()) continue;
    md += std::string("| ") + span_name(span);
    for (auto& v : values) md += " | " + ms(static_cast<std::uint64_t>(*median(v)));
    md += " | " + grouped(*median(counts)) + " |\n";
  }
  return md;
}

std::string per_round(const std::vector<double>& v, const char* format) {
  std::string out;
  for (double x : v) {
    if (!out.empty()) out += ", ";
    out += fmt(format, x);
  }
  return out;
}

void summary_row(std::string& md, const std::string& name, const std::vector<double>& values,
                 const char* format) {
  auto m = median(values);
  if (!m) return;
  md += "| " + name + " | " + fmt(format, *m) + " | " + per_round(values, format) + " |\n";
}

// ---- SVG -------------------------------------------------------------------

struct series {
  std::string name, color;
  bool dashed = false;
  std::vector<std::pair<double, double>> points;
};

std::string svg_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '&') {
      out += "&amp;";
    } else {
      out += c;
    }
  }
  return out;
}

// One panel: linear x; linear or log10 y.
// A "nice" tick step (1, 2 or 5 times a power of ten) for about five ticks.
double nice_step(double range) {
  const double raw = range / 5;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * magnitude) return m * magnitude;
  }
  return 10 * magnitude;
}

std::string svg_panel(double left, double top, double width, double height,
                      const std::string& title, const std::string& x_label,
                      const std::string& y_label, const std::vector<series>& all, bool log_y,
                      bool legend_bottom_right) {
  double x_max = 0, y_min = 1e300, y_max = 0;
  for (const auto& s : all) {
    for (auto [x, y] : s.points) {
      x_max = std::max(x_max, x);
      y_max = std::max(y_max, y);
      if (y > 0) y_min = std::min(y_min, y);
    }
  }
  if (x_max <= 0) x_max = 1;
  if (y_max <= 0) y_max = 1;
  const double x_step = nice_step(x_max);
  x_max = std::ceil(x_max * 1.02 / x_step) * x_step;
  const double y_step = nice_step(y_max);
  double lo = 0, hi = std::ceil(y_max * 1.02 / y_step) * y_step;
  if (log_y) {
    lo = std::floor(std::log10(std::max(1e-3, y_min)));
    hi = std::ceil(std::log10(y_max * 1.01));
    if (hi <= lo) hi = lo + 1;
  }
  auto px = [&](double x) { return left + x / x_max * width; };
  auto py = [&](double y) {
    const double f =
        log_y ? (std::log10(std::max(y, 1e-9)) - lo) / (hi - lo) : (y - lo) / (hi - lo);
    return top + height - std::clamp(f, 0.0, 1.0) * height;
  };
  std::ostringstream o;
  o << "<text x=\"" << left + width / 2 << "\" y=\"" << top - 12
    << "\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">" << svg_escape(title)
    << "</text>\n";
  o << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << width << "\" height=\""
    << height << "\" fill=\"none\" stroke=\"#444\"/>\n";
  // Grid and ticks.
  for (double x = 0; x <= x_max + x_step / 2; x += x_step) {
    o << "<line x1=\"" << px(x) << "\" y1=\"" << top << "\" x2=\"" << px(x) << "\" y2=\""
      << top + height << "\" stroke=\"#ddd\"/>\n";
    o << "<text x=\"" << px(x) << "\" y=\"" << top + height + 16
      << "\" text-anchor=\"middle\" font-size=\"11\">" << grouped(x) << "</text>\n";
  }
  if (log_y) {
    for (double e = lo; e <= hi + 1e-9; e += 1) {
      const double y = std::pow(10.0, e);
      o << "<line x1=\"" << left << "\" y1=\"" << py(y) << "\" x2=\"" << left + width << "\" y2=\""
        << py(y) << "\" stroke=\"#ddd\"/>\n";
      o << "<text x=\"" << left - 6 << "\" y=\"" << py(y) + 4
        << "\" text-anchor=\"end\" font-size=\"11\">" << fmt(y < 1 ? "%g" : "%.0f", y)
        << "</text>\n";
    }
  } else {
    for (double y = 0; y <= hi + y_step / 2; y += y_step) {
      o << "<line x1=\"" << left << "\" y1=\"" << py(y) << "\" x2=\"" << left + width << "\" y2=\""
        << py(y) << "\" stroke=\"#ddd\"/>\n";
      o << "<text x=\"" << left - 6 << "\" y=\"" << py(y) + 4
        << "\" text-anchor=\"end\" font-size=\"11\">" << grouped(y) << "</text>\n";
    }
  }
  o << "<text x=\"" << left + width / 2 << "\" y=\"" << top + height + 36
    << "\" text-anchor=\"middle\" font-size=\"12\">" << svg_escape(x_label) << "</text>\n";
  o << "<text transform=\"translate(" << left - 52 << "," << top + height / 2
    << ") rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">" << svg_escape(y_label)
    << "</text>\n";
  int legend = 0;
  int shown = 0;
  for (const auto& s : all) shown += s.points.empty() ? 0 : 1;
  const double legend_x = legend_bottom_right ? left + width - 230 : left + 10;
  const double legend_y = legend_bottom_right ? top + height - 10 - 16 * shown : top;
  for (const auto& s : all) {
    if (s.points.empty()) continue;
    o << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"2\""
      << (s.dashed ? " stroke-dasharray=\"6,4\"" : "") << " points=\"";
    for (auto [x, y] : s.points) o << px(x) << "," << py(y) << " ";
    o << "\"/>\n";
    for (auto [x, y] : s.points) {
      o << "<circle cx=\"" << px(x) << "\" cy=\"" << py(y) << "\" r=\"3\" fill=\"" << s.color
        << "\"/>\n";
    }
    const double ly = legend_y + 16 + 16 * legend++;
    o << "<line x1=\"" << legend_x << "\" y1=\"" << ly - 4 << "\" x2=\"" << legend_x + 24
      << "\" y2=\"" << ly - 4 << "\" stroke=\"" << s.color << "\" stroke-width=\"2\""
      << (s.dashed ? " stroke-dasharray=\"6,4\"" : "") << "/>\n";
    o << "<text x=\"" << legend_x + 30 << "\" y=\"" << ly << "\" font-size=\"11\">"
      << svg_escape(s.name) << "</text>\n";
  }
  return o.str();
}

// The open-loop phases a plot is drawn from: the sweep's rates, or else the
// open loop of every round of a full run (each at its round's fraction of the
// closed-loop rate).
std::vector<const phase_record*> plotted_phases(const run_record& run) {
  std::vector<const phase_record*> points;
  for (const auto& p : run.sweep) points.push_back(&p);
  if (points.empty()) {
    for (const auto& r : run.rounds) {
      if (r.open) points.push_back(&*r.open);
    }
  }
  std::sort(points.begin(), points.end(),
            [](auto* a, auto* b) { return a->offered_per_s < b->offered_per_s; });
  return points;
}

std::string load_svg(const run_record& run) {
  const auto points = plotted_phases(run);
  series achieved{"settled/s", "#1f77b4", false, {}};
  series ideal{"settled = offered", "#999", true, {}};
  for (const auto* p : points) {
    achieved.points.emplace_back(p->offered_per_s, p->settled_per_s());
    ideal.points.emplace_back(p->offered_per_s, p->offered_per_s);
  }
  std::vector<series> throughput{achieved, ideal};
  std::vector<double> closed;
  for (const auto& r : run.rounds) {
    if (r.closed) closed.push_back(r.closed->settled_per_s());
  }
  if (auto m = median(closed); m && !points.empty()) {
    series max_line{"closed-loop maximum " + grouped(*m) + "/s", "#d62728", true, {}};
    max_line.points = {{0, *m}, {points.back()->offered_per_s, *m}};
    throughput.push_back(max_line);
  }
  const char* colors[] = {"#2ca02c", "#ff7f0e", "#d62728", "#9467bd"};
  std::vector<series> latency;
  for (std::size_t i = 0; i < std::size(percentiles); ++i) {
    series s{std::string("confirm_amount->receipt ") + percentile_labels[i], colors[i], false, {}};
    for (const auto* p : points) {
      const auto& h = p->stats.spans[span_ca_receipt];
      if (h.count() > 0) {
        s.points.emplace_back(p->offered_per_s,
                              static_cast<double>(h.percentile(percentiles[i])) / 1e6);
      }
    }
    latency.push_back(s);
  }
  series total{"start->settled p99", "#17becf", true, {}};
  for (const auto* p : points) {
    const auto& h = p->stats.spans[span_total_settled];
    if (h.count() > 0) {
      total.points.emplace_back(p->offered_per_s, static_cast<double>(h.percentile(0.99)) / 1e6);
    }
  }
  latency.push_back(total);
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1100\" height=\"470\" "
       "font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << svg_panel(80, 50, 420, 340, "Throughput against offered load",
                 "offered load (payments/s, open loop)", "settled payments/s", throughput, false,
                 true);
  o << svg_panel(640, 50, 420, 340, "Latency against offered load",
                 "offered load (payments/s, open loop)", "latency (ms, log scale)", latency, true,
                 false);
  o << "<text x=\"550\" y=\"460\" text-anchor=\"middle\" font-size=\"11\" fill=\"#555\">"
    << svg_escape("paysync bench_load " + run.mode + ", " + run.started_at +
                  "; latency from each payment's intended start (no coordinated omission)")
    << "</text>\n</svg>\n";
  return o.str();
}

}  // namespace

bool writes_plot(const run_record& run) { return !plotted_phases(run).empty(); }

std::string write_reports(const run_record& run, const std::string& out_dir) {
  // ---- JSON ----
  json::object root;
  root["benchmark"] = "paysync bench_load";
  root["mode"] = run.mode;
  root["started_at"] = run.started_at;
  root["load_average_at_start"] = run.load_average_at_start;
  root["config"] = run.config;
  json::object sw;
  sw["command"] = run.switch_command;
  sw["ready_line"] = run.ready_line;
  sw["pid"] = run.switch_pid;
  sw["open_file_limit"] = run.switch_fd_limit;
  sw["at_start"] = proc_json(run.switch_start);
  sw["at_end"] = proc_json(run.switch_end);
  root["switch"] = std::move(sw);
  json::object frames;
  frames["flow_a"] = frames_per_settlement_flow_a;
  frames["flow_b"] = frames_per_settlement_flow_b;
  frames["echo_round_trip"] = frames_per_echo_round_trip;
  frames["flow_a_frames"] =
      "open, opened, join, merchant, confirm_merchant, ack, synchronized, amount, ack, amount "
      "event, confirm_amount, receipt, settled";
  root["frames_per_settlement"] = std::move(frames);
  json::array rounds;
  std::vector<double> echo_rt, closed_rate, ratio, open_p99, open_rate, sw_cpu, gen_cpu, closed_p99,
      echo_cpu, cpu_ratio, server_ratio, echo_client_cpu;
  for (const auto& r : run.rounds) {
    json::object o;
    o["round"] = r.index;
    if (r.echo) {
      o["echo"] = phase_json(*r.echo);
      echo_rt.push_back(r.echo->round_trips_per_s());
      if (r.echo->stats.echo_round_trips > 0) {
        echo_cpu.push_back(r.echo->echo_server_cpu_s * 1e6 /
                           static_cast<double>(r.echo->stats.echo_round_trips));
        echo_client_cpu.push_back(r.echo->generator_cpu_s * 1e6 /
                                  static_cast<double>(r.echo->stats.echo_round_trips));
      }
    }
    if (r.closed) {
      o["closed"] = phase_json(*r.closed);
      closed_rate.push_back(r.closed->settled_per_s());
      closed_p99.push_back(
          static_cast<double>(r.closed->stats.spans[span_ca_receipt].percentile(0.99)) / 1e6);
      if (r.closed->have_switch && r.closed->stats.settled > 0) {
        sw_cpu.push_back((r.closed->switch_after.cpu_s() - r.closed->switch_before.cpu_s()) * 1e6 /
                         static_cast<double>(r.closed->stats.settled));
      }
      if (r.closed->stats.settled > 0) {
        gen_cpu.push_back(r.closed->generator_cpu_s * 1e6 /
                          static_cast<double>(r.closed->stats.settled));
      }
    }
    if (r.open) {
      o["open"] = phase_json(*r.open);
      open_rate.push_back(r.open->offered_per_s);
      open_p99.push_back(
          static_cast<double>(r.open->stats.spans[span_ca_receipt].percentile(0.99)) / 1e6);
    }
    if (auto c = r.ceiling_ratio()) {
      o["ceiling_ratio"] = rounded(*c, 0.0001);
      ratio.push_back(*c);
    }
    if (auto c = r.cpu_ceiling_ratio()) {
      o["cpu_ceiling_ratio"] = rounded(*c, 0.0001);
      cpu_ratio.push_back(*c);
    }
    if (auto c = r.server_cpu_ratio()) {
      o["server_cpu_ratio"] = rounded(*c, 0.0001);
      server_ratio.push_back(*c);
    }
    rounds.push_back(std::move(o));
  }
  root["rounds"] = std::move(rounds);
  json::object medians;
  auto put_median = [&](const char* key, const std::vector<double>& v) {
    if (auto m = median(v)) medians[key] = rounded(*m);
  };
  put_median("echo_round_trips_per_s", echo_rt);
  put_median("echo_server_cpu_us_per_round_trip", echo_cpu);
  put_median("closed_settled_per_s", closed_rate);
  put_median("closed_p99_confirm_amount_receipt_ms", closed_p99);
  put_median("echo_client_cpu_us_per_round_trip", echo_client_cpu);
  put_median("ceiling_ratio", ratio);
  put_median("cpu_ceiling_ratio", cpu_ratio);
  put_median("server_cpu_ratio", server_ratio);
  put_median("open_offered_per_s", open_rate);
  put_median("open_p99_confirm_amount_receipt_ms", open_p99);
  put_median("switch_cpu_us_per_settlement", sw_cpu);
  put_median("generator_cpu_us_per_settlement", gen_cpu);
  root["medians"] = std::move(medians);
  if (!run.sweep.empty()) {
    json::array sweep;
    for (const auto& p : run.sweep) sweep.push_back(phase_json(p));
    root["sweep"] = std::move(sweep);
  }
  if (run.idle) {
    const auto& i = *run.idle;
    json::object o;
    o["requested_billing"] = i.requested_billing;
    o["requested_handsets"] = i.requested_handsets;
    o["opened"] = connect_json(i.opened);
    o["processes"] = i.processes;
    json::array sources;
    for (const auto& s : i.source_addresses) sources.push_back(json::value(s));
    o["source_addresses"] = std::move(sources);
    o["switch_open_file_limit"] = i.switch_fd_limit;
    o["switch_before"] = proc_json(i.switch_before);
    o["switch_after_open"] = proc_json(i.switch_after_open);
    o["switch_after_hold"] = proc_json(i.switch_after_hold);
    const double n = static_cast<double>(i.opened.billing_ready + i.opened.handsets_ready);
    if (n > 0) {
      auto per = [&](std::uint64_t after, std::uint64_t before) {
        return rounded((static_cast<double>(after) - static_cast<double>(before)) / n, 0.01);
      };
      o["rss_kb_per_terminal"] = per(i.switch_after_open.rss_kb, i.switch_before.rss_kb);
      o["rss_anon_kb_per_terminal"] =
          per(i.switch_after_open.rss_anon_kb, i.switch_before.rss_anon_kb);
      o["rss_kb_per_terminal_after_hold"] = per(i.switch_after_hold.rss_kb, i.switch_before.rss_kb);
      o["generator_rss_kb_per_connection"] =
          rounded(static_cast<double>(i.generator_rss_delta_kb) / n, 0.01);
    }
    o["hold_s"] = i.hold_s;
    o["switch_cpu_s_during_hold"] =
        rounded(i.switch_after_hold.cpu_s() - i.switch_after_open.cpu_s());
    o["billing_open_after_hold"] = i.after_hold.billing_open;
    o["handsets_open_after_hold"] = i.after_hold.handsets_open;
    json::object closes;
    for (const auto& [k, v] : i.after_hold.closes) closes[k] = v;
    o["closes_during_hold"] = std::move(closes);
    o["note"] = i.note;
    root["idle"] = std::move(o);
  }
  json::object metrics;
  metrics["source"] = run.metrics_source;
  if (!run.metrics_before.empty()) metrics["before"] = parse_metrics(run.metrics_before);
  if (!run.metrics_after.empty()) metrics["after"] = parse_metrics(run.metrics_after);
  metrics["text_after"] = run.metrics_after;
  root["metrics"] = std::move(metrics);
  json::array notes;
  for (const auto& n : run.notes) notes.push_back(json::value(n));
  root["notes"] = std::move(notes);
  {
    std::ofstream out(out_dir + "/load.json");
    out << json::serialize(root) << "\n";
  }

  // ---- Markdown ----
  std::string md = "# paysync bench_load — " + run.mode + ", " + run.started_at + "\n\n";
  md += "Switch: `" + run.switch_command + "`\n\n";
  md += "Load average at start: " + fmt("%.2f", run.load_average_at_start) +
        " (2 shared cores: figures from a busy machine are low; compare within a run).\n\n";
  if (!run.rounds.empty()) {
    md += "## Summary (median of " + std::to_string(run.rounds.size()) + " rounds)\n\n";
    md += "| figure | median | per round |\n| --- | ---: | --- |\n";
    summary_row(md, "echo ceiling, round trips/s (bare Beast, same clients and connections)",
                echo_rt, "%.0f");
    summary_row(md, "echo server CPU per round trip (µs)", echo_cpu, "%.1f");
    summary_row(md, "echo clients' CPU per round trip (µs)", echo_client_cpu, "%.1f");
    summary_row(md, "closed loop, settled payments/s", closed_rate, "%.0f");
    summary_row(md,
                "ceiling ratio: settled/s × " + std::to_string(frames_per_settlement_flow_a) +
                    " frames ÷ (echo round trips/s × 2)",
                ratio, "%.3f");
    summary_row(md,
                "the same from CPU time: (switch + generator) frames per CPU-second ÷ (echo "
                "server + clients) frames per CPU-second",
                cpu_ratio, "%.3f");
    summary_row(md, "server side only: echo server CPU per frame ÷ switch CPU per frame",
                server_ratio, "%.3f");
    summary_row(md, "closed loop, p99 confirm_amount→receipt (ms)", closed_p99, "%.2f");
    summary_row(md, "open loop, offered payments/s", open_rate, "%.0f");
    summary_row(md, "open loop, p99 confirm_amount→receipt (ms)", open_p99, "%.2f");
    summary_row(md, "switch CPU per settlement (µs, closed loop)", sw_cpu, "%.1f");
    summary_row(md, "generator CPU per settlement (µs, closed loop)", gen_cpu, "%.1f");
    md += "\n";
    std::vector<const phase_record*> closed, open;
    for (const auto& r : run.rounds) {
      if (r.closed) closed.push_back(&*r.closed);
      if (r.open) open.push_back(&*r.open);
    }
    const auto spans = {span_open_opened,     span_join_merchant, span_pay_merchant,
                        span_cm_synchronized, span_ca_receipt,    span_total_settled,
                        span_schedule_lag};
    if (!closed.empty()) {
      md += "## Latency, closed loop (medians over rounds of each percentile)\n\n" +
            latency_table(closed, spans) + "\n";
    }
    if (!open.empty()) {
      md += "## Latency, open loop at " + grouped(open.front()->offered_per_s) +
            " payments/s (from the intended start; medians over rounds)\n\n" +
            latency_table(open, spans) + "\n";
    }
    md += "## Errors and generator notes per round\n\n";
    for (const auto& r : run.rounds) {
      for (const auto* p : {r.echo ? &*r.echo : nullptr, r.closed ? &*r.closed : nullptr,
                            r.open ? &*r.open : nullptr}) {
        if (p == nullptr) continue;
        md += "- round " + std::to_string(r.index) + " " + p->kind + ": errors " +
              errors_text(p->stats.errors);
        if (auto host = host_cpu_between(p->host_before, p->host_after)) {
          md += "; machine CPU busy " + fmt("%.0f", host->busy * 100) + "% (softirq " +
                fmt("%.0f", host->softirq * 100) + "%), idle " + fmt("%.0f", host->idle * 100) +
                "%, iowait " + fmt("%.0f", host->iowait * 100) + "%, stolen " +
                fmt("%.1f", host->steal * 100) + "%";
        }
        if (p->kind != "echo") {
          md += "; handset waits " + grouped(static_cast<double>(p->stats.handset_waits)) +
                "; payer reconnects " + grouped(static_cast<double>(p->stats.payer_reconnects)) +
                "; in flight at the end " + grouped(static_cast<double>(p->stats.in_flight_at_end));
          if (p->have_switch) {
            md += "; switch RSS " + grouped(static_cast<double>(p->switch_before.rss_kb)) + " → " +
                  grouped(static_cast<double>(p->switch_after.rss_kb)) + " KB, CPU " +
                  fmt("%.2f", p->switch_after.cpu_s() - p->switch_before.cpu_s()) + " s";
          }
          if (!p->metrics_before.empty() && !p->metrics_after.empty()) {
            const auto delta = metrics_delta(p->metrics_before, p->metrics_after);
            const double commits = delta_of(delta, "paysync_ledger_batch_size_count");
            if (commits > 0) {
              md += "; ledger: " + grouped(commits) + " commits, mean batch " +
                    fmt("%.1f", delta_of(delta, "paysync_ledger_batch_size_sum") / commits) +
                    ", mean commit " +
                    fmt("%.2f",
                        delta_of(delta, "paysync_ledger_commit_seconds_sum") / commits * 1e3) +
                    " ms";
              if (auto p99 = bucket_quantile(delta, "paysync_ledger_commit_seconds", 0.99)) {
                md += ", commit p99 ≈ " + fmt("%.1f", *p99 * 1e3) + " ms (switch's buckets)";
              }
            }
          }
        }
        md += "\n";
      }
    }
    md += "\n";
  }
  if (!run.sweep.empty()) {
    md +=
        "## Sweep (open loop)\n\n| offered/s | settled/s | p50 | p90 | p99 | p99.9 | max "
        "(confirm_amount→receipt, ms) | p99 start→settled (ms) | errors |\n";
    md += "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n";
    for (const auto& p : run.sweep) {
      const auto& h = p.stats.spans[span_ca_receipt];
      md += "| " + grouped(p.offered_per_s) + " | " + grouped(p.settled_per_s()) + " | " +
            ms(h.percentile(0.5)) + " | " + ms(h.percentile(0.9)) + " | " + ms(h.percentile(0.99)) +
            " | " + ms(h.percentile(0.999)) + " | " + ms(h.max()) + " | " +
            ms(p.stats.spans[span_total_settled].percentile(0.99)) + " | " +
            errors_text(p.stats.errors) + " |\n";
    }
    md += "\n";
  }
  if (writes_plot(run)) {
    md +=
        "Plot: `load.svg` (settled/s and confirm_amount→receipt percentiles against the "
        "open loop's offered load";
    md += run.sweep.empty() ? ", one point per round; `--mode sweep` draws the whole curve).\n\n"
                            : ").\n\n";
    std::ofstream svg(out_dir + "/load.svg");
    svg << load_svg(run);
  }
  if (run.idle) {
    const auto& i = *run.idle;
    const double n = static_cast<double>(i.opened.billing_ready + i.opened.handsets_ready);
    md += "## Concurrency (idle terminals)\n\n| figure | value |\n| --- | ---: |\n";
    md += "| terminals requested (billing + handsets) | " +
          grouped(static_cast<double>(i.requested_billing)) + " + " +
          grouped(static_cast<double>(i.requested_handsets)) + " |\n";
    md += "| terminals open (billing said hello + handsets connected) | " +
          grouped(static_cast<double>(i.opened.billing_ready)) + " + " +
          grouped(static_cast<double>(i.opened.handsets_ready)) + " = " + grouped(n) + " |\n";
    md += "| failed | " +
          grouped(static_cast<double>(i.opened.billing_failed + i.opened.handsets_failed)) + " |\n";
    md += "| still open after holding " + fmt("%.0f", i.hold_s) + " s | " +
          grouped(static_cast<double>(i.after_hold.billing_open + i.after_hold.handsets_open)) +
          " |\n";
    if (n > 0) {
      md += "| switch RSS per terminal (VmRSS delta ÷ terminals) | " +
            fmt("%.2f", (static_cast<double>(i.switch_after_open.rss_kb) -
                         static_cast<double>(i.switch_before.rss_kb)) /
                            n) +
            " KB |\n";
      md += "| switch anonymous RSS per terminal (RssAnon delta ÷ terminals) | " +
            fmt("%.2f", (static_cast<double>(i.switch_after_open.rss_anon_kb) -
                         static_cast<double>(i.switch_before.rss_anon_kb)) /
                            n) +
            " KB |\n";
      md += "| switch RSS per terminal after the hold | " +
            fmt("%.2f", (static_cast<double>(i.switch_after_hold.rss_kb) -
                         static_cast<double>(i.switch_before.rss_kb)) /
                            n) +
            " KB |\n";
      md += "| generator RSS per connection (bare Beast client) | " +
            fmt("%.2f", static_cast<double>(i.generator_rss_delta_kb) / n) + " KB |\n";
    }
    md += "| switch RSS before / after open / after hold | " +
          grouped(static_cast<double>(i.switch_before.rss_kb)) + " / " +
          grouped(static_cast<double>(i.switch_after_open.rss_kb)) + " / " +
          grouped(static_cast<double>(i.switch_after_hold.rss_kb)) + " KB |\n";
    md += "| switch CPU during the hold (pings and idle timers) | " +
          fmt("%.2f", i.switch_after_hold.cpu_s() - i.switch_after_open.cpu_s()) + " s in " +
          fmt("%.0f", i.hold_s) + " s |\n";
    md += "| switch open files (after open) / limit | " +
          grouped(static_cast<double>(i.switch_after_open.open_fds)) + " / " +
          grouped(static_cast<double>(i.switch_fd_limit)) + " |\n";
    md += "| generator processes, source addresses | " + std::to_string(i.processes) + ", " +
          std::to_string(i.source_addresses.size()) + " |\n";
    if (!i.opened.failures.empty()) md += "\nFailures: " + errors_text(i.opened.failures) + "\n";
    if (!i.after_hold.closes.empty()) {
      md += "\nCloses during the hold: " + errors_text(i.after_hold.closes) + "\n";
    }
    if (!i.note.empty()) md += "\n" + i.note + "\n";
    md += "\n";
  }
  md += "## Switch metrics\n\n";
  if (run.metrics_after.empty()) {
    md += "Not read: " + run.metrics_source + "\n\n";
  } else {
    md += "Read from " + run.metrics_source +
          " before and after the run (`load.json`, "
          "`metrics`).\n\n";
  }
  if (!run.notes.empty()) {
    md += "## Notes\n\n";
    for (const auto& n : run.notes) md += "- " + n + "\n";
    md += "\n";
  }
  {
    std::ofstream out(out_dir + "/load.md");
    out << md;
  }
  return md;
}

}  // namespace paysync::bench
