#include "switch_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <stdexcept>

#ifndef PAYSYNC_DEFAULT_BINARY
#error "PAYSYNC_DEFAULT_BINARY names the paysync binary under test"
#endif

namespace paysync::testing_support {

std::string switch_process::binary() {
  const char* path = std::getenv("PAYSYNC_BINARY");
  return path && *path ? path : PAYSYNC_DEFAULT_BINARY;
}

switch_process::switch_process(std::string data_dir, std::vector<std::string> extra_args,
                               std::vector<std::string> extra_env) {
  std::vector<std::string> args{binary(),          "serve", "--data-dir",    data_dir,
                                "--billing-port",  "0",     "--paying-port", "0",
                                "--operator-port", "0",     "--workers",     "2",
                                "--shards",        "2"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  int pipe_fds[2];
  // Close-on-exec: a sibling started later (tests run several nodes) must
  // not inherit this pipe, or this child's EOF would never be seen.
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const pid_t test_pid = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // A test killed by ctest's timeout (or by hand) takes its switch with it,
    // instead of leaving it serving on its ports. The kernel ties this to the
    // forking thread: tests start their switches on the main thread.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != test_pid) ::_exit(127);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    // Nothing else of the test process (sockets, other nodes' pipes) leaks
    // into the switch.
    ::close_range(3, ~0U, 0);
    for (auto& e : extra_env) ::putenv(e.data());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  reader_ = std::thread([this, fd = pipe_fds[0]] { read_output(fd); });

  std::unique_lock lock(mutex_);
  // Up to the end of the line: the output arrives in chunks, and a line cut
  // after "operator=127.0.0.1:3" would otherwise match with port 3.
  const std::regex ready(
      R"(PAYSYNC_READY billing=[^ \n]*:(\d+) paying=[^ \n]*:(\d+) operator=[^ \n]*:(\d+)[^\n]*\n)");
  std::smatch m;
  const bool up = ready_.wait_for(lock, std::chrono::seconds(30),
                                  [&] { return std::regex_search(output_, m, ready) || eof_; });
  if (!up || (eof_ && !std::regex_search(output_, m, ready))) {
    auto out = output_;
    lock.unlock();
    kill_hard();
    throw std::runtime_error("paysync did not start:\n" + out);
  }
  billing_port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
  paying_port_ = static_cast<std::uint16_t>(std::stoi(m[2]));
  operator_port_ = static_cast<std::uint16_t>(std::stoi(m[3]));
}

switch_process::~switch_process() {
  // A switch left running stops here; it must exit cleanly all the same (a
  // crash while shutting down, a sanitizer report, fails the test that
  // started it).
  if (pid_ > 0) {
    const int status = stop();
    EXPECT_EQ(status, 0) << "the switch did not exit cleanly on SIGTERM\n" << output();
  }
  if (reader_.joinable()) reader_.join();
}

void switch_process::read_output(int fd) {
  char buf[4096];
  for (;;) {
    auto n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    std::lock_guard lock(mutex_);
    output_.append(buf, static_cast<std::size_t>(n));
    ready_.notify_all();
  }
  ::close(fd);
  std::lock_guard lock(mutex_);
  eof_ = true;
  ready_.notify_all();
}

int switch_process::reap(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (reader_.joinable()) reader_.join();
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -2;
}

void switch_process::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap(std::chrono::seconds(10));
}

void switch_process::suspend() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void switch_process::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

int switch_process::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  ::kill(pid_, SIGCONT);  // a suspended process acts on SIGTERM only once resumed
  int status = reap(std::chrono::seconds(15));
  if (status == -2) {
    kill_hard();
    return -1;
  }
  return status;
}

std::string switch_process::http_get(std::uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) response.append(buf, n);
    }
  }
  ::close(fd);
  const auto body = response.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : response.substr(body + 4);
}

std::string switch_process::output() const {
  std::lock_guard lock(mutex_);
  return output_;
}

}  // namespace paysync::testing_support
