// AssetServer: a tiny HTTP/1.1 server on loopback for the remote-source tests, written on plain
// sockets so every byte it sends is the test's choice (cpp-httplib answers Range requests on its
// own, which would hide what the client asked for). One request per connection, a thread each.
//
//   AssetServer server;
//   server.add("/a.mp4", bytes);
//   server.drop_after_once("/a.mp4", 4096);   // first GET: full Content-Length, 4096 bytes, close
//   fetch(server.url("/a.mp4"));
//   EXPECT_EQ(server.gets("/a.mp4"), 2);
//   EXPECT_EQ(server.ranges("/a.mp4")[1], "bytes=4096-");
//
// Thread-safe. Holds the files in memory (test-sized).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace leancut::testing {

class AssetServer {
 public:
  AssetServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
      return;
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~AssetServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    if (accept_thread_.joinable()) accept_thread_.join();
    ::close(listen_fd_);
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(connections_);
    }
    for (auto& t : threads) t.join();
  }
  AssetServer(const AssetServer&) = delete;
  AssetServer& operator=(const AssetServer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void add(const std::string& path, std::string bytes) {
    std::lock_guard lock(mu_);
    files_[path] = std::move(bytes);
  }
  // The first GET of `path` announces the whole length but sends only `bytes`, then closes.
  void drop_after_once(const std::string& path, size_t bytes) {
    std::lock_guard lock(mu_);
    drop_after_[path] = bytes;
  }
  // GETs of `path` answer 302 to `location`.
  void redirect(const std::string& path, const std::string& location) {
    std::lock_guard lock(mu_);
    redirects_[path] = location;
  }
  // Range headers are ignored: every answer is 200 with the whole file.
  void ignore_ranges() {
    std::lock_guard lock(mu_);
    ignore_ranges_ = true;
  }
  // Each request waits (up to `timeout`) until `n` requests are in flight before answering, so a
  // test sees how many a client runs at once.
  void hold_until_in_flight(int n, std::chrono::milliseconds timeout) {
    std::lock_guard lock(mu_);
    hold_until_ = n;
    hold_timeout_ = timeout;
  }
  int gets(const std::string& path) const {
    std::lock_guard lock(mu_);
    auto it = ranges_.find(path);
    return it == ranges_.end() ? 0 : static_cast<int>(it->second.size());
  }
  // Per GET of `path`: its Range header ("" when none).
  std::vector<std::string> ranges(const std::string& path) const {
    std::lock_guard lock(mu_);
    auto it = ranges_.find(path);
    return it == ranges_.end() ? std::vector<std::string>{} : it->second;
  }
  // Per GET of `path`: its If-Range header ("" when none).
  std::vector<std::string> if_ranges(const std::string& path) const {
    std::lock_guard lock(mu_);
    auto it = if_ranges_.find(path);
    return it == if_ranges_.end() ? std::vector<std::string>{} : it->second;
  }
  int max_in_flight() const {
    std::lock_guard lock(mu_);
    return max_in_flight_;
  }

 private:
  void accept_loop() {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::lock_guard lock(mu_);
      connections_.emplace_back([this, fd] {
        serve(fd);
        ::close(fd);
      });
    }
  }

  static bool send_all(int fd, const char* data, size_t n) {
    while (n > 0) {
      const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      data += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }

  void serve(int fd) {
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos) {
      const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
      if (r <= 0) return;
      req.append(buf, static_cast<size_t>(r));
    }
    const size_t sp1 = req.find(' ');
    const size_t sp2 = req.find(' ', sp1 + 1);
    const std::string path = req.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string range;
    std::string if_range;
    for (size_t pos = req.find("\r\n"); pos != std::string::npos && pos + 2 < req.size();) {
      const size_t end = req.find("\r\n", pos + 2);
      const std::string line = req.substr(pos + 2, end - pos - 2);
      std::string lower = line;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      if (lower.rfind("range:", 0) == 0) {
        range = line.substr(6);
        range.erase(0, range.find_first_not_of(' '));
      } else if (lower.rfind("if-range:", 0) == 0) {
        if_range = line.substr(9);
        if_range.erase(0, if_range.find_first_not_of(' '));
      }
      pos = end;
    }
    std::string body;
    std::string location;
    bool found = false;
    size_t drop_after = std::string::npos;
    bool ignore = false;
    {
      std::unique_lock lock(mu_);
      ranges_[path].push_back(range);
      if_ranges_[path].push_back(if_range);
      ++in_flight_;
      max_in_flight_ = std::max(max_in_flight_, in_flight_);
      cv_.notify_all();
      cv_.wait_for(lock, hold_timeout_, [&] { return in_flight_ >= hold_until_; });
      if (auto it = redirects_.find(path); it != redirects_.end()) location = it->second;
      if (auto it = files_.find(path); it != files_.end()) {
        found = true;
        body = it->second;
      }
      if (auto it = drop_after_.find(path); it != drop_after_.end()) {
        drop_after = it->second;
        drop_after_.erase(it);
      }
      // Every file's ETag is "v1": a resume of another version gets the whole file (RFC 9110).
      ignore = ignore_ranges_ || (!if_range.empty() && if_range != "\"v1\"");
    }
    if (!location.empty()) {
      const std::string r = "HTTP/1.1 302 Found\r\nLocation: " + location +
                            "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      send_all(fd, r.data(), r.size());
    } else {
      respond(fd, found, body, range, drop_after, ignore);
    }
    std::lock_guard lock(mu_);
    --in_flight_;
  }

  static void respond(int fd, bool found, const std::string& body, const std::string& range,
                      size_t drop_after, bool ignore) {
    if (!found) {
      const std::string r =
          "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found";
      send_all(fd, r.data(), r.size());
      return;
    }
    size_t start = 0;
    std::string head;
    if (!ignore && range.rfind("bytes=", 0) == 0) {
      start = std::stoul(range.substr(6));
      if (start >= body.size()) {
        head = "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */" +
               std::to_string(body.size()) + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        send_all(fd, head.data(), head.size());
        return;
      }
      head = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " + std::to_string(start) + "-" +
             std::to_string(body.size() - 1) + "/" + std::to_string(body.size()) + "\r\n";
    } else {
      head = "HTTP/1.1 200 OK\r\n";
    }
    head += "Content-Length: " + std::to_string(body.size() - start) +
            "\r\nETag: \"v1\"\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n";
    if (!send_all(fd, head.data(), head.size())) return;
    const size_t n = std::min(body.size() - start, drop_after);
    send_all(fd, body.data() + start, n);
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread accept_thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> connections_;
  std::map<std::string, std::string> files_;
  std::map<std::string, size_t> drop_after_;
  std::map<std::string, std::string> redirects_;
  std::map<std::string, std::vector<std::string>> ranges_;
  std::map<std::string, std::vector<std::string>> if_ranges_;
  bool ignore_ranges_ = false;
  int hold_until_ = 0;
  std::chrono::milliseconds hold_timeout_{0};
  int in_flight_ = 0;
  int max_in_flight_ = 0;
};

// A port on loopback that refuses connections for as long as this lives: bound, never listening.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace leancut::testing
