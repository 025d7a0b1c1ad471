#include "bench/load/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "bench/common/tied_child.hpp"

namespace paysync::bench {

namespace {

std::uint64_t kb_field(const std::string& line) {
  std::uint64_t v = 0;
  std::istringstream in(line.substr(line.find(':') + 1));
  in >> v;
  return v;
}

std::uint64_t count_fds(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return 0;
  std::uint64_t n = 0;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n;
}

}  // namespace

host_cpu_sample sample_host_cpu() {
  host_cpu_sample s;
  std::ifstream stat("/proc/stat");
  std::string label;
  if (!(stat >> label) || label != "cpu") return s;
  stat >> s.user >> s.nice >> s.system >> s.idle >> s.iowait >> s.irq >> s.softirq >> s.steal;
  s.ok = static_cast<bool>(stat);
  return s;
}

std::optional<host_cpu_shares> host_cpu_between(const host_cpu_sample& before,
                                                const host_cpu_sample& after) {
  if (!before.ok || !after.ok) return std::nullopt;
  const auto d = [](std::uint64_t a, std::uint64_t b) {
    return b >= a ? static_cast<double>(b - a) : 0.0;
  };
  const double user = d(before.user, after.user) + d(before.nice, after.nice);
  const double system = d(before.system, after.system) + d(before.irq, after.irq);
  const double softirq = d(before.softirq, after.softirq);
  const double idle = d(before.idle, after.idle);
  const double iowait = d(before.iowait, after.iowait);
  const double steal = d(before.steal, after.steal);
  const double total = user + system + softirq + idle + iowait + steal;
  if (total <= 0) return std::nullopt;
  return host_cpu_shares{(user + system + softirq) / total, softirq / total, idle / total,
                         iowait / total, steal / total};
}

proc_sample sample_process(pid_t pid) {
  proc_sample s;
  const std::string base = "/proc/" + std::to_string(pid);
  std::ifstream status(base + "/status");
  if (!status) return s;
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = kb_field(line);
    if (line.rfind("RssAnon:", 0) == 0) s.rss_anon_kb = kb_field(line);
    if (line.rfind("RssFile:", 0) == 0) s.rss_file_kb = kb_field(line);
    if (line.rfind("VmHWM:", 0) == 0) s.hwm_kb = kb_field(line);
    if (line.rfind("Threads:", 0) == 0) s.threads = kb_field(line);
  }
  std::ifstream stat(base + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces and parentheses).
  const auto close = text.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream fields(text.substr(close + 2));
  std::vector<std::string> f;
  std::string field;
  while (fields >> field) f.push_back(field);
  // f[0] is field 3 (state); utime and stime are fields 14 and 15.
  if (f.size() < 13) return s;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  s.cpu_user_s = std::stod(f[11]) / ticks;
  s.cpu_system_s = std::stod(f[12]) / ticks;
  s.open_fds = count_fds(pid);
  s.ok = true;
  return s;
}

std::uint64_t open_file_limit(pid_t pid) {
  std::ifstream limits("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(limits, line)) {
    if (line.rfind("Max open files", 0) == 0) {
      std::istringstream in(line.substr(std::strlen("Max open files")));
      std::uint64_t soft = 0;
      in >> soft;
      return soft;
    }
  }
  return 0;
}

std::unique_ptr<child_process> child_process::spawn(const std::vector<std::string>& argv,
                                                    const std::string& stderr_path, bool pipe_stdin,
                                                    std::string& error) {
  int out[2];
  int in[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0 || (pipe_stdin && ::pipe2(in, O_CLOEXEC) != 0)) {
    error = std::string("pipe: ") + std::strerror(errno);
    return nullptr;
  }
  const int null_in = pipe_stdin ? -1 : ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int err = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_t pid = -1;
  if (err < 0 || (!pipe_stdin && null_in < 0)) {
    error = "cannot open " + (err < 0 ? stderr_path : std::string("/dev/null")) + ": " +
            std::strerror(errno);
  } else {
    pid = spawn_tied_to_parent(argv, pipe_stdin ? in[0] : null_in, out[1], err, error);
  }
  for (int fd : {null_in, err, out[1], in[0]}) {
    if (fd >= 0) ::close(fd);
  }
  if (pid < 0) {
    ::close(out[0]);
    if (pipe_stdin) ::close(in[1]);
    return nullptr;
  }
  std::unique_ptr<child_process> child(new child_process);
  child->pid_ = pid;
  child->stdout_fd_ = out[0];
  child->stdin_fd_ = pipe_stdin ? in[1] : -1;
  return child;
}

child_process::~child_process() {
  if (!reaped_ && pid_ > 0) stop(std::chrono::milliseconds(2000));
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  close_stdin();
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
    if (::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000))) <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::read(stdout_fd_, buffer, sizeof buffer);
    if (n <= 0) {
      ::close(stdout_fd_);
      stdout_fd_ = -1;
      return std::nullopt;
    }
    pending_.append(buffer, static_cast<std::size_t>(n));
  }
}

bool child_process::write_line(const std::string& line) {
  if (stdin_fd_ < 0) return false;
  const std::string text = line + "\n";
  return ::write(stdin_fd_, text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

void child_process::close_stdin() {
  if (stdin_fd_ >= 0) {
    ::close(stdin_fd_);
    stdin_fd_ = -1;
  }
}

bool child_process::running() {
  if (reaped_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_ = true;
    status_ = status;
    return false;
  }
  return true;
}

int child_process::stop(std::chrono::milliseconds grace) {
  if (reaped_) return status_;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) return status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  reaped_ = true;
  status_ = status;
  return status_;
}

std::optional<std::string> line_field(std::string_view line, std::string_view key) {
  std::size_t pos = 0;
  while (pos < line.size()) {
    const auto end = std::min(line.find(' ', pos), line.size());
    const auto word = line.substr(pos, end - pos);
    if (word.size() > key.size() && word.substr(0, key.size()) == key && word[key.size()] == '=') {
      return std::string(word.substr(key.size() + 1));
    }
    pos = end + 1;
  }
  return std::nullopt;
}

bool split_host_port(std::string_view text, std::string& host, std::uint16_t& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  auto h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const auto p = text.substr(colon + 1);
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || ptr != p.data() + p.size() || value == 0 || value > 65535) return false;
  host = std::string(h);
  port = static_cast<std::uint16_t>(value);
  return true;
}

}  // namespace paysync::bench
