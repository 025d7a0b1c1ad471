#include "bench/biometrics/evaluation.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>

namespace paysync::bench {
namespace {

// Number of scores < t in an ascending list.
std::size_t count_below(const std::vector<double>& ascending, double t) {
  return static_cast<std::size_t>(std::lower_bound(ascending.begin(), ascending.end(), t) -
                                  ascending.begin());
}

std::vector<double> sorted(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::string percent(std::optional<double> fraction, int decimals = 2) {
  if (!fraction) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, 100.0 * *fraction);
  return text;
}

std::string fixed(std::optional<double> value, int decimals) {
  if (!value) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, *value);
  return text;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
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
      default:
        out += c;
    }
  }
  return out;
}

boost::json::value optional_number(std::optional<double> v) {
  if (!v || !std::isfinite(*v)) return nullptr;
  return *v;
}

boost::json::value to_json(const std::optional<fnmr_at_fmr>& p) {
  if (!p) return nullptr;
  boost::json::object o;
  o["target_fmr"] = p->target_fmr;
  o["fnmr"] = p->fnmr;
  o["threshold"] = optional_number(p->threshold);
  o["achieved_fmr"] = p->achieved_fmr;
  o["enough_impostors"] = p->enough_impostors;
  return o;
}

}  // namespace

std::optional<double> median(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  const auto mid = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), mid, values.end());
  if (values.size() % 2 == 1) return *mid;
  const double upper = *mid;
  const double lower = *std::max_element(values.begin(), mid);
  return 0.5 * (lower + upper);
}

std::vector<det_point> det_curve(const std::vector<double>& genuine,
                                 const std::vector<double>& impostor) {
  std::vector<det_point> curve;
  if (genuine.empty() || impostor.empty()) return curve;
  const auto gen = sorted(genuine), imp = sorted(impostor);
  std::vector<double> thresholds;
  thresholds.reserve(gen.size() + imp.size() + 1);
  thresholds.insert(thresholds.end(), gen.begin(), gen.end());
  thresholds.insert(thresholds.end(), imp.begin(), imp.end());
  std::sort(thresholds.begin(), thresholds.end());
  thresholds.erase(std::unique(thresholds.begin(), thresholds.end()), thresholds.end());
  thresholds.push_back(std::numeric_limits<double>::infinity());  // accept nothing
  const double ng = static_cast<double>(gen.size()), ni = static_cast<double>(imp.size());
  curve.reserve(thresholds.size());
  for (const double t : thresholds) {
    curve.push_back({t, (ni - static_cast<double>(count_below(imp, t))) / ni,
                     static_cast<double>(count_below(gen, t)) / ng});
  }
  return curve;
}

std::optional<eer_point> equal_error_rate(const std::vector<double>& genuine,
                                          const std::vector<double>& impostor) {
  const auto curve = det_curve(genuine, impostor);
  if (curve.empty()) return std::nullopt;
  // FMR - FNMR falls from >= 0 (lowest threshold: FNMR = 0) to <= 0
  // (threshold infinity: FMR = 0); interpolate across the sign change.
  for (std::size_t j = 0; j < curve.size(); ++j) {
    const double d = curve[j].fmr - curve[j].fnmr;
    if (d > 0) continue;
    if (j == 0 || d == 0) return eer_point{curve[j].fmr, curve[j].threshold};
    const auto& a = curve[j - 1];
    const auto& b = curve[j];
    const double da = a.fmr - a.fnmr;
    const double alpha = da / (da - d);
    const double eer = a.fmr + alpha * (b.fmr - a.fmr);
    const double threshold = std::isfinite(b.threshold)
                                 ? a.threshold + alpha * (b.threshold - a.threshold)
                                 : a.threshold;
    return eer_point{eer, threshold};
  }
  return std::nullopt;  // unreachable: the last point has FMR 0
}

std::optional<fnmr_at_fmr> fnmr_at(const std::vector<double>& genuine,
                                   const std::vector<double>& impostor, double target_fmr) {
  if (genuine.empty() || impostor.empty()) return std::nullopt;
  const auto gen = sorted(genuine);
  auto imp = sorted(impostor);
  // At most k impostor scores may reach the threshold: it sits just above the
  // (k+1)-th highest impostor score.
  const std::size_t k = static_cast<std::size_t>(std::floor(target_fmr * imp.size() + 1e-9));
  fnmr_at_fmr p;
  p.target_fmr = target_fmr;
  p.enough_impostors = static_cast<double>(imp.size()) >= 3.0 / target_fmr;
  if (k >= imp.size()) {
    p.threshold = imp.front();
  } else {
    const double pivot = imp[imp.size() - 1 - k];
    p.threshold = std::nextafter(pivot, std::numeric_limits<double>::infinity());
  }
  p.achieved_fmr = static_cast<double>(imp.size() - count_below(imp, p.threshold)) /
                   static_cast<double>(imp.size());
  p.fnmr = static_cast<double>(count_below(gen, p.threshold)) / static_cast<double>(gen.size());
  return p;
}

evaluation evaluate(const scored_trials& trials) {
  evaluation e;
  e.modality = trials.modality;
  e.dataset = trials.dataset;
  e.subset = trials.subset;
  e.protocol = trials.protocol;
  e.genuine_count = trials.genuine.size();
  e.impostor_count = trials.impostor.size();
  if (const auto eer = equal_error_rate(trials.genuine, trials.impostor)) {
    e.eer = eer->eer;
    e.eer_threshold = eer->threshold;
  }
  e.at_fmr_1pct = fnmr_at(trials.genuine, trials.impostor, 0.01);
  e.at_fmr_01pct = fnmr_at(trials.genuine, trials.impostor, 0.001);
  e.enrol_attempts = trials.enrol_attempts;
  e.failures_to_enrol = trials.failures_to_enrol;
  e.median_extract_ms = median(trials.extract_ms);
  e.median_compare_us = median(trials.compare_us);
  e.extract_samples = trials.extract_ms.size();
  e.compare_samples = trials.compare_us.size();
  e.det = det_curve(trials.genuine, trials.impostor);
  return e;
}

std::string format_table(const std::vector<evaluation>& rows) {
  std::ostringstream out;
  char line[512];
  std::snprintf(line, sizeof line, "%-12s %-15s %-9s %8s %9s %7s %10s %11s %9s %11s %11s %10s\n",
                "modality", "dataset", "subset", "genuine", "impostor", "EER%", "FNMR@1%",
                "FNMR@0.1%", "FTE", "extract_ms", "compare_us", "thr@0.1%");
  out << line;
  bool footnote = false;
  for (const auto& r : rows) {
    std::string at_01 = r.at_fmr_01pct ? percent(r.at_fmr_01pct->fnmr) : "-";
    if (r.at_fmr_01pct && !r.at_fmr_01pct->enough_impostors) {
      at_01 += "*";
      footnote = true;
    }
    std::string at_1 = r.at_fmr_1pct ? percent(r.at_fmr_1pct->fnmr) : "-";
    if (r.at_fmr_1pct && !r.at_fmr_1pct->enough_impostors) {
      at_1 += "*";
      footnote = true;
    }
    const std::string fte =
        std::to_string(r.failures_to_enrol) + "/" + std::to_string(r.enrol_attempts);
    const std::optional<double> threshold =
        r.at_fmr_01pct && std::isfinite(r.at_fmr_01pct->threshold)
            ? std::optional<double>(r.at_fmr_01pct->threshold)
            : std::nullopt;
    std::snprintf(line, sizeof line,
                  "%-12s %-15s %-9s %8zu %9zu %7s %10s %11s %9s %11s %11s %10s\n",
                  r.modality.c_str(), r.dataset.c_str(), r.subset.c_str(), r.genuine_count,
                  r.impostor_count, percent(r.eer).c_str(), at_1.c_str(), at_01.c_str(),
                  fte.c_str(), fixed(r.median_extract_ms, 2).c_str(),
                  fixed(r.median_compare_us, 2).c_str(), fixed(threshold, 4).c_str());
    out << line;
  }
  if (footnote) {
    out << "* fewer impostor comparisons than 3/FMR (rule of three): the FMR target rests on "
           "fewer than 3 false matches; indicative only.\n";
  }
  return out.str();
}

std::string summary_json(const std::vector<evaluation>& rows) {
  boost::json::array results;
  for (const auto& r : rows) {
    boost::json::object o;
    o["modality"] = r.modality;
    o["dataset"] = r.dataset;
    o["subset"] = r.subset;
    o["protocol"] = r.protocol;
    o["genuine_comparisons"] = r.genuine_count;
    o["impostor_comparisons"] = r.impostor_count;
    o["eer"] = optional_number(r.eer);
    o["eer_threshold"] = r.eer ? optional_number(r.eer_threshold) : nullptr;
    o["fnmr_at_fmr_1pct"] = to_json(r.at_fmr_1pct);
    o["fnmr_at_fmr_0_1pct"] = to_json(r.at_fmr_01pct);
    o["enrol_attempts"] = r.enrol_attempts;
    o["failures_to_enrol"] = r.failures_to_enrol;
    o["median_extract_ms"] = optional_number(r.median_extract_ms);
    o["median_compare_us"] = optional_number(r.median_compare_us);
    o["extract_samples"] = r.extract_samples;
    o["compare_samples"] = r.compare_samples;
    results.push_back(std::move(o));
  }
  boost::json::object root;
  root["format"] = "paysync.bench.biometrics/1";
  root["accept_rule"] = "score >= threshold";
  root["results"] = std::move(results);
  return boost::json::serialize(root) + "\n";
}

std::string det_svg(const std::string& title, const std::vector<evaluation>& curves) {
  // The legend below the plot grows with the number of curves.
  constexpr double width = 640, left = 80, right = 20, top = 50;
  const double bottom = 70 + 18.0 * static_cast<double>(curves.size());
  const double height = 450 + bottom;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  // Lower end of both axes: the decade below the smallest non-zero rate, so
  // that 1 / (number of comparisons) is on the plot; zero rates are drawn on
  // the axis itself.
  double smallest = 1e-2;
  for (const auto& c : curves) {
    for (const auto& p : c.det) {
      if (p.fmr > 0) smallest = std::min(smallest, p.fmr);
      if (p.fnmr > 0) smallest = std::min(smallest, p.fnmr);
    }
  }
  const int low_decade = std::max(-6, static_cast<int>(std::floor(std::log10(smallest))));
  const double span = -low_decade;
  auto x_of = [&](double fmr) {
    const double l = fmr > 0 ? std::max(std::log10(fmr), double(low_decade)) : low_decade;
    return left + (l - low_decade) / span * plot_w;
  };
  auto y_of = [&](double fnmr) {
    const double l = fnmr > 0 ? std::max(std::log10(fnmr), double(low_decade)) : low_decade;
    return top + plot_h - (l - low_decade) / span * plot_h;
  };
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(1);
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" viewBox=\"0 0 " << width << ' ' << height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s << "<text x=\"" << width / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">"
    << xml_escape(title) << "</text>\n";
  // Decade grid and labels.
  for (int d = low_decade; d <= 0; ++d) {
    const double rate = std::pow(10.0, d);
    char label[32];
    std::snprintf(label, sizeof label, "%g%%", 100.0 * rate);
    const double x = x_of(rate), y = y_of(rate);
    s << "<line x1=\"" << x << "\" y1=\"" << top << "\" x2=\"" << x << "\" y2=\"" << top + plot_h
      << "\" stroke=\"#ddd\"/>\n";
    s << "<line x1=\"" << left << "\" y1=\"" << y << "\" x2=\"" << left + plot_w << "\" y2=\"" << y
      << "\" stroke=\"#ddd\"/>\n";
    s << "<text x=\"" << x << "\" y=\"" << top + plot_h + 16 << "\" text-anchor=\"middle\">"
      << label << "</text>\n";
    s << "<text x=\"" << left - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">" << label
      << "</text>\n";
  }
  s << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << plot_w << "\" height=\""
    << plot_h << "\" fill=\"none\" stroke=\"black\"/>\n";
  // FMR = FNMR: the curve crosses it at the EER.
  s << "<line x1=\"" << x_of(std::pow(10.0, low_decade)) << "\" y1=\""
    << y_of(std::pow(10.0, low_decade)) << "\" x2=\"" << x_of(1) << "\" y2=\"" << y_of(1)
    << "\" stroke=\"#999\" stroke-dasharray=\"4 4\"/>\n";
  s << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << top + plot_h + 36
    << "\" text-anchor=\"middle\">false match rate (FMR), log scale</text>\n";
  s << "<text transform=\"translate(18 " << top + plot_h / 2
    << ") rotate(-90)\" text-anchor=\"middle\">false non-match rate (FNMR), log scale</text>\n";
  static constexpr const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c",
                                            "#ff7f0e", "#9467bd", "#8c564b"};
  // One colour per dataset; tuning curves dashed, held-out ones solid.
  std::map<std::string, std::size_t> dataset_colour;
  for (const auto& c : curves) dataset_colour.emplace(c.dataset, dataset_colour.size());
  for (std::size_t i = 0; i < curves.size(); ++i) {
    const auto& c = curves[i];
    const char* colour = colours[dataset_colour[c.dataset] % std::size(colours)];
    const bool dashed = c.subset == "tuning";
    s << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"1.8\""
      << (dashed ? " stroke-dasharray=\"6 3\"" : "") << " points=\"";
    double last_x = -1, last_y = -1;
    for (const auto& p : c.det) {
      const double x = x_of(p.fmr), y = y_of(p.fnmr);
      if (std::abs(x - last_x) < 0.5 && std::abs(y - last_y) < 0.5) continue;
      s << x << ',' << y << ' ';
      last_x = x;
      last_y = y;
    }
    s << "\"/>\n";
    const double ly = top + plot_h + 60 + 18.0 * static_cast<double>(i);
    s << "<line x1=\"" << left << "\" y1=\"" << ly - 4 << "\" x2=\"" << left + 30 << "\" y2=\""
      << ly - 4 << "\" stroke=\"" << colour << "\" stroke-width=\"1.8\""
      << (dashed ? " stroke-dasharray=\"6 3\"" : "") << "/>\n";
    s << "<text x=\"" << left + 38 << "\" y=\"" << ly << "\">"
      << xml_escape(c.dataset + " " + c.subset + ": EER " + percent(c.eer) + "%, " +
                    std::to_string(c.genuine_count) + " genuine / " +
                    std::to_string(c.impostor_count) + " impostor")
      << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

}  // namespace paysync::bench
