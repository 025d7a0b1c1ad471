#include "bench/auth/proc.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <thread>

#include "bench/common/tied_child.hpp"

namespace paysync::bench::auth {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::uint64_t status_field(const std::string& status, std::string_view key) {
  const auto at = status.find(key);
  if (at == std::string::npos) return 0;
  std::istringstream in(status.substr(at + key.size()));
  std::uint64_t v = 0;
  in >> v;
  return v;
}

}  // namespace

std::uint64_t process_reading::run_ns() const noexcept {
  std::uint64_t sum = 0;
  for (const auto& t : threads) sum += t.run_ns;
  return sum;
}

process_reading read_process(pid_t pid) {
  process_reading r;
  const std::string base = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = ::opendir(base.c_str());
  if (dir == nullptr) return r;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    thread_reading t;
    const std::string_view name(e->d_name);
    std::from_chars(name.data(), name.data() + name.size(), t.tid);
    const std::string dir_path = base + "/" + e->d_name;
    const auto stat = slurp(dir_path + "/stat");
    const auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    t.comm = stat.substr(open + 1, close - open - 1);
    std::istringstream fields(stat.substr(close + 2));
    std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
    // f[0] is field 3 (state); nice is field 19.
    if (f.size() > 16) t.nice = std::stoi(f[16]);
    std::istringstream sched(slurp(dir_path + "/schedstat"));
    sched >> t.run_ns >> t.wait_ns >> t.slices;
    const auto status = slurp(dir_path + "/status");
    t.voluntary = status_field(status, "voluntary_ctxt_switches:");
    t.involuntary = status_field(status, "nonvoluntary_ctxt_switches:");
    t.wchan = slurp(dir_path + "/wchan");
    r.threads.push_back(std::move(t));
  }
  ::closedir(dir);
  r.ok = !r.threads.empty();
  return r;
}

std::vector<thread_delta> thread_deltas(const process_reading& before,
                                        const process_reading& after) {
  std::map<pid_t, const thread_reading*> earlier;
  for (const auto& t : before.threads) earlier[t.tid] = &t;
  std::vector<thread_delta> out;
  for (const auto& t : after.threads) {
    thread_reading zero;
    const auto it = earlier.find(t.tid);
    const auto& b = it == earlier.end() ? zero : *it->second;
    thread_delta d;
    d.tid = t.tid;
    d.comm = t.comm;
    d.nice = t.nice;
    d.cpu_ms = static_cast<double>(t.run_ns - b.run_ns) / 1e6;
    d.wait_ms = static_cast<double>(t.wait_ns - b.wait_ns) / 1e6;
    d.slices = t.slices - b.slices;
    d.voluntary = t.voluntary - b.voluntary;
    d.involuntary = t.involuntary - b.involuntary;
    d.wchan = t.wchan;
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(),
            [](const thread_delta& a, const thread_delta& b) { return a.cpu_ms > b.cpu_ms; });
  return out;
}

std::unique_ptr<child_process> child_process::spawn(const std::vector<std::string>& argv,
                                                    const std::string& stderr_path,
                                                    std::string& error) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    error = "pipe failed";
    return nullptr;
  }
  const int null_in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int err = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_t pid = -1;
  if (null_in < 0 || err < 0) {
    error = "cannot open " + (err < 0 ? stderr_path : std::string("/dev/null")) + ": " +
            std::strerror(errno);
  } else {
    pid = spawn_tied_to_parent(argv, null_in, out[1], err, error);
  }
  for (int fd : {null_in, err, out[1]}) {
    if (fd >= 0) ::close(fd);
  }
  if (pid < 0) {
    ::close(out[0]);
    return nullptr;
  }
  std::unique_ptr<child_process> child(new child_process());
  child->pid_ = pid;
  child->stdout_fd_ = out[0];
  return child;
}

child_process::~child_process() {
  stop(std::chrono::milliseconds(5000));
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

std::optional<std::string> child_process::wait_for_line(std::string_view prefix,
                                                        std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (auto nl = pending_.find('\n'); nl != std::string::npos; nl = pending_.find('\n')) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      if (line.rfind(prefix, 0) == 0) return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || stdout_fd_ < 0) return std::nullopt;
    pollfd p{stdout_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    const auto n = ::read(stdout_fd_, buf, sizeof buf);
    if (n <= 0) return std::nullopt;
    pending_.append(buf, static_cast<std::size_t>(n));
  }
}

int child_process::stop(std::chrono::milliseconds grace) {
  if (reaped_ || pid_ <= 0) return status_;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      status_ = status;
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  if (::waitpid(pid_, &status, 0) == pid_) status_ = status;
  reaped_ = true;
  return status_;
}

int run_to_completion(const std::vector<std::string>& argv, std::string& output) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return -1;
  const int null_in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t pid = -1;
  if (null_in < 0) {
    output = std::string("cannot open /dev/null: ") + std::strerror(errno);
  } else {
    pid = spawn_tied_to_parent(argv, null_in, out[1], out[1], output);
    ::close(null_in);
  }
  ::close(out[1]);
  if (pid < 0) {
    ::close(out[0]);
    return -1;
  }
  char buf[4096];
  for (;;) {
    const auto n = ::read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::optional<std::string> line_field(std::string_view line, std::string_view key) {
  const std::string needle = std::string(key) + "=";
  std::size_t at = 0;
  while ((at = line.find(needle, at)) != std::string_view::npos) {
    if (at == 0 || line[at - 1] == ' ') {
      const auto start = at + needle.size();
      const auto end = line.find(' ', start);
      return std::string(line.substr(start, end == std::string_view::npos ? end : end - start));
    }
    at += needle.size();
  }
  return std::nullopt;
}

bool split_host_port(std::string_view text, std::string& host, std::uint16_t& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  auto h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const auto p = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || end != p.data() + p.size() || h.empty()) return false;
  host = std::string(h);
  return true;
}

}  // namespace paysync::bench::auth
