#include "ProcessMetrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace ordersystem::host {

namespace {

/// Seconds since the epoch at which the machine booted (btime in /proc/stat), or 0.
double bootTime() {
    std::ifstream in("/proc/stat");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
    return 0.0;
}

int countOpenFds() {
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir) return -1;
    int n = 0;
    while (const dirent* e = ::readdir(dir))
        if (e->d_name[0] != '.') ++n;
    ::closedir(dir);
    return n - 1;  // the descriptor opendir() itself holds
}

}  // namespace

ProcessMetrics::ProcessMetrics(sdk::Metrics& m)
    : _cpu(m.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds")),
      _rss(m.gauge("process_resident_memory_bytes", "Resident memory size in bytes")),
      _virtual(m.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes")),
      _openFds(m.gauge("process_open_fds", "Number of open file descriptors")),
      _maxFds(m.gauge("process_max_fds", "Maximum number of open file descriptors")),
      _startTime(m.gauge("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds")) {
    collect();
}

void ProcessMetrics::collect() noexcept {
    try {
        std::lock_guard<std::mutex> lock(_mutex);
        std::ifstream in("/proc/self/stat");
        std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        // Fields after the command name, which is in parentheses and may contain spaces.
        const size_t close = stat.rfind(')');
        if (close != std::string::npos) {
            std::istringstream fields(stat.substr(close + 2));
            std::string f[22];  // fields 3..24 of proc(5)
            for (auto& x : f) fields >> x;
            const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
            const double pageSize = static_cast<double>(::sysconf(_SC_PAGESIZE));
            const double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;  // utime + stime
            if (cpu > _cpuReported) {
                _cpu.inc(cpu - _cpuReported);
                _cpuReported = cpu;
            }
            static const double boot = bootTime();
            _startTime.set(boot + std::stod(f[19]) / ticks);
            _virtual.set(std::stod(f[20]));
            _rss.set(std::stod(f[21]) * pageSize);
        }
        const int fds = countOpenFds();
        if (fds >= 0) _openFds.set(fds);
        rlimit limit{};
        if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) _maxFds.set(static_cast<double>(limit.rlim_cur));
    } catch (...) {
        // A /proc format surprise must not break /metrics: the last readings stay.
    }
}

}  // namespace ordersystem::host
